// Runner of `cargo xtask bench scroll`: the reading room of the real viewer (`obscura serve
// --demo` on 127.0.0.1, a synthetic CT of BENCH_SLICES slices, 512×512) in Debian's headless
// Chromium through Playwright, with the GPU flags of the end-to-end tests (SwiftShader).
//
//   1. scroll: for WebGPU (the default) and WebGL2 (`?gpu=webgl`), each in a fresh profile: open
//      the study, wait until every slice is loaded, warm up, then dispatch wheel events on the
//      canvas from inside the page, one slice each, every 1000/30 ms (drift-free: each timer is
//      set against the start time), down the whole stack and back up, while a
//      requestAnimationFrame loop records every frame's timestamp. Afterwards the viewer's own
//      frame log (`window.obscura.frameLog()`: per drawn frame its start, the ms spent drawing,
//      each pane's slice and whether its image was on screen) says which positions were drawn.
//      BENCH_REPS rounds (default 3), medians printed.
//   2. memory: the same study with `?budget=BENCH_BUDGET_MIB` (default 64 MiB, less than the
//      study's decoded size), scrolled down and back at 30 slices/s while the page polls the
//      cache's counters (`state().open.room.cache`) every 100 ms.
//
// Prints numbers (the target p95 ≤ 16 ms beside them) and writes BENCH_OUT/results.json (and
// BENCH_JSON). It asserts nothing about time; it fails only when the viewer does not load or
// does not follow the wheel.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launchBrowser, requireEnv, state, unlockWithPassphrase, waitFor } from '../../tests/e2e/lib.mjs';

const env = (k) => requireEnv(k, 'cargo xtask bench scroll');
const URL_ = env('OBSCURA_URL');
const OUT = env('BENCH_OUT');
const SLICES = Number(env('BENCH_SLICES'));
const REPS = Number(process.env.BENCH_REPS || 3);
const PART = process.env.BENCH_PART || 'all';
const BUDGET_MIB = Number(process.env.BENCH_BUDGET_MIB || 64);
const RATE = 30; // slices per second
const WARMUP = Math.min(30, SLICES - 1);
const TARGET_P95_MS = 16;
// BENCH_TRACE=1: record a Chromium trace of each timed scroll and keep the busiest tasks per
// thread (where the time between frames goes); it costs time itself, so it is off by default.
const TRACE = process.env.BENCH_TRACE === '1';
const LOAD_TIMEOUT = 300000;
if (!(REPS >= 1 && REPS <= 50)) throw new Error('BENCH_REPS must be 1..50');
if (!['all', 'scroll', 'memory'].includes(PART)) throw new Error('BENCH_PART must be scroll, memory or all');
if (!(BUDGET_MIB >= 16 && BUDGET_MIB <= 16384)) throw new Error('BENCH_BUDGET_MIB must be 16..16384 (the viewer\'s range)');

// ---------------------------------------------------------------- helpers
const sorted = (xs) => [...xs].sort((a, b) => a - b);
const quantile = (xs, q) => {
  if (!xs.length) return null;
  const s = sorted(xs);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
};
const median = (xs) => quantile(xs.filter((x) => x != null), 0.5);
const max = (xs) => (xs.length ? Math.max(...xs) : null);


// A fresh profile and page on `url`; `fn(page)` runs on it, then everything is closed.
async function inFreshPage(url, fn) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'obscura-bench-scroll-'));
  const { context, page, consoleLines } = await launchBrowser(profile);
  try {
    await page.goto(url);
    return await fn(page);
  } catch (e) {
    console.log(consoleLines.slice(-20).map((l) => `  page: ${l}`).join('\n'));
    throw e;
  } finally {
    await context.close().catch(() => {});
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

// The viewer enrols (demo mode) and lists the study; open it, with slice 1 on screen.
async function openStudy(page) {
  await unlockWithPassphrase(page);
  await waitFor(page, 'the study list', (s) => s.phase === 'list' && s.studies >= 1, 120000);
  await page.click('button.study');
  return waitFor(page, 'slice 1 on screen', (s) => s.open && s.open.shown === 0 && s.open.slices === SLICES, 120000);
}

// In the page: `count` wheel events on the canvas (deltaY ±100 px: one slice each), one every
// 1000/rate ms, each timer set against the start time (no drift); `down` of them downwards, the
// rest upwards. Meanwhile every animation frame's timestamp is recorded, and with `pollMs`, the
// cache's counters. Returns the wheel times, the frames and the samples.
function scrollInPage({ down, count, rate, settleMs, pollMs }) {
  const canvas = document.getElementById('canvas');
  const r = canvas.getBoundingClientRect();
  const clientX = r.left + r.width / 2;
  const clientY = r.top + r.height / 2;
  const interval = 1000 / rate;
  const frames = [];
  const wheels = [];
  const samples = [];
  let running = true;
  const tick = (t) => {
    frames.push(t);
    if (running) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  const poll = () => {
    const c = window.obscura.state().open.room.cache;
    samples.push({ t: performance.now(), bytes: c.bytes, items: c.items, peak: c.peak, evictions: c.evictions });
  };
  const poller = pollMs ? setInterval(poll, pollMs) : null;
  if (pollMs) poll();
  return new Promise((resolve) => {
    const start = performance.now() + interval;
    let k = 0;
    const fire = () => {
      const t = performance.now();
      canvas.dispatchEvent(new WheelEvent('wheel', {
        deltaY: k < down ? 100 : -100, deltaMode: 0, clientX, clientY, bubbles: true, cancelable: true,
      }));
      wheels.push({ t, late: t - (start + k * interval) });
      k += 1;
      if (k < count) {
        setTimeout(fire, Math.max(0, start + k * interval - performance.now()));
        return;
      }
      setTimeout(() => {
        running = false;
        if (poller) {
          clearInterval(poller);
          poll();
        }
        resolve({ frames, wheels, samples });
      }, settleMs);
    };
    setTimeout(fire, Math.max(0, start - performance.now()));
  });
}

// The positions the wheel goes through from `from`: `down` slices down, then `count - down` up.
function positions(from, down, count) {
  const out = [];
  let at = from;
  for (let k = 0; k < count; k++) {
    at = Math.min(SLICES - 1, Math.max(0, at + (k < down ? 1 : -1)));
    out.push(at);
  }
  return out;
}

// Frame intervals, the viewer's draw times and what was not drawn, in [first wheel, last wheel + one interval].
function analyse(run, from, down, count) {
  const t0 = run.wheels[0].t;
  const t1 = run.wheels[run.wheels.length - 1].t + 1000 / RATE;
  const frames = run.frames.filter((t) => t >= t0 && t <= t1);
  const intervals = frames.slice(1).map((t, i) => t - frames[i]);
  const med = median(intervals);
  const long = intervals.filter((iv) => iv > 1.5 * med);
  const missedVsyncs = long.reduce((n, iv) => n + Math.max(1, Math.round(iv / med) - 1), 0);
  // the same against a 60 Hz display (what a frame every 16.7 ms would have shown)
  const missed60 = intervals.reduce((n, iv) => n + Math.max(0, Math.round(iv / (1000 / 60)) - 1), 0);
  const log = run.log.filter((f) => f.t >= t0 - 1 && f.t <= t1);
  const draws = log.map((f) => f.ms);
  const wanted = positions(from, down, count);
  const drawn = new Set(run.log.filter((f) => f.t >= t0 - 1).map((f) => f.slices[0]));
  const shown = new Set(run.log.filter((f) => f.t >= t0 - 1 && f.shown?.[0]).map((f) => f.slices[0]));
  // a position counts once per visit: visits of the same slice on the way down and up are told
  // apart by the frame times (a frame between this wheel event and the next)
  let notDrawn = 0;
  let notShown = 0;
  for (let k = 0; k < count; k++) {
    const from_ = run.wheels[k].t - 1;
    const to = k + 1 < count ? run.wheels[k + 1].t : t1 + 1000;
    const visit = run.log.filter((f) => f.t >= from_ && f.t < to && f.slices[0] === wanted[k]);
    if (!visit.length) notDrawn += 1;
    if (!visit.some((f) => f.shown?.[0])) notShown += 1;
  }
  return {
    wheelEvents: count,
    wheelLateP95: quantile(run.wheels.map((w) => w.late), 0.95),
    scrollMs: t1 - t0,
    frames: frames.length,
    frameP50: med,
    frameP95: quantile(intervals, 0.95),
    frameMax: max(intervals),
    longIntervals: long.length,
    missedVsyncs,
    missed60,
    draws: draws.length,
    drawP50: quantile(draws, 0.5),
    drawP95: quantile(draws, 0.95),
    drawMax: max(draws),
    positionsNotDrawn: notDrawn,
    positionsNotShown: notShown,
    distinctDrawn: drawn.size,
    distinctShown: shown.size,
    dropped: notDrawn + long.length,
  };
}

async function chromiumVersion(page) {
  const ua = await page.evaluate(() => navigator.userAgent);
  const m = /Chrome\/([0-9.]+)/.exec(ua);
  if (m) return m[1];
  try {
    return execFileSync('/usr/bin/chromium', ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
}

// A DevTools trace of the page's browser (renderer, GPU process, compositor); `stop()` returns
// the 12 (thread, task) pairs with the most time in complete events: [thread | name, ms, count].
async function startTrace(page) {
  const cdp = await page.context().newCDPSession(page);
  const events = [];
  cdp.on('Tracing.dataCollected', (e) => events.push(...e.value));
  await cdp.send('Tracing.start', {
    categories: 'toplevel,gpu,viz,cc,blink,devtools.timeline,disabled-by-default-devtools.timeline',
    transferMode: 'ReportEvents',
  });
  return {
    async stop() {
      const done = new Promise((resolve) => cdp.once('Tracing.tracingComplete', resolve));
      await cdp.send('Tracing.end');
      await done;
      await cdp.detach();
      const threads = {};
      for (const e of events) if (e.ph === 'M' && e.name === 'thread_name') threads[`${e.pid}:${e.tid}`] = e.args.name;
      const sum = {};
      for (const e of events) {
        if (e.ph !== 'X' || !e.dur) continue;
        const k = `${threads[`${e.pid}:${e.tid}`] ?? e.tid} | ${e.name}`;
        sum[k] ??= [k, 0, 0];
        sum[k][1] += e.dur / 1000;
        sum[k][2] += 1;
      }
      // the generic task wrappers say nothing about what ran
      const generic = /\| (RunTask|ThreadControllerImpl::RunTask|Scheduler::RunTask|ThreadPool_RunTask)$/;
      return Object.values(sum).filter(([k]) => !generic.test(k)).sort((a, b) => b[1] - a[1]).slice(0, 12)
        .map(([k, ms, n]) => [k, Math.round(ms), n]);
    },
  };
}

// ---------------------------------------------------------------- part 1: scrolling
async function scrollRun(backend, query) {
  return inFreshPage(URL_ + query, async (page) => {
    await openStudy(page);
    const s = await waitFor(page, 'every slice loaded', (s) => s.open.ready + s.open.failed.length === s.open.slices, LOAD_TIMEOUT);
    if (s.open.failed.length) throw new Error(`${s.open.failed.length} slices failed: ${s.open.errors[0]}`);
    if (s.backend !== backend) console.log(`  note: asked for ${backend}, the viewer uses ${s.backend}`);
    // warm-up: down and back up to slice 1
    await page.evaluate(scrollInPage, { down: WARMUP, count: 2 * WARMUP, rate: RATE, settleMs: 300, pollMs: 0 });
    await waitFor(page, 'slice 1 after the warm-up', (s) => s.open.current === 0 && s.open.shown === 0, 10000);
    await page.evaluate(() => window.obscura.frameLog());
    const down = SLICES - 1;
    const count = 2 * down;
    const trace = TRACE ? await startTrace(page) : null;
    const run = await page.evaluate(scrollInPage, { down, count, rate: RATE, settleMs: 300, pollMs: 0 });
    const busiest = trace ? await trace.stop() : null;
    run.log = await page.evaluate(() => window.obscura.frameLog());
    const end = await state(page);
    if (end.open.current !== 0) throw new Error(`the wheel left the viewer on slice ${end.open.current + 1}, not 1`);
    const heap = await page.evaluate(() => performance.memory?.usedJSHeapSize ?? null);
    const wasm = await page.evaluate(() => window.obscura.wasmMemoryBytes?.() ?? null);
    const canvas = await page.evaluate(() => [document.getElementById('canvas').width, document.getElementById('canvas').height]);
    return {
      backend: end.backend,
      chromium: await chromiumVersion(page),
      canvas,
      ...analyse(run, 0, down, count),
      busiest,
      cacheBytes: end.open.room.cache.bytes,
      jsHeapBytes: heap,
      wasmMemoryBytes: wasm,
    };
  });
}

// ---------------------------------------------------------------- the browser's own floor
// A canvas of the viewer's size in a page of the same origin (served by Playwright's router),
// drawn every other animation frame (30 Hz, as the scroll) for 3 s: cleared through WebGPU and
// WebGL2 (what this headless Chromium and SwiftShader achieve with no shader work).
// (The renderer's own shader is no longer timed alone here: it is specialised per display mode by
// override constants since, and the scroll runs above time exactly that.)
async function baselineRun([w, h]) {
  return inFreshPage('about:blank', async (page) => {
    const url = new URL('__bench-baseline.html', URL_).href;
    await page.route(url, (r) => r.fulfill({ contentType: 'text/html', body: '<!doctype html><body style="margin:0;background:#000"></body>' }));
    await page.goto(url);
    const out = {};
    for (const api of ['webgpu', 'webgl2']) {
      out[api] = await page.evaluate(async ({ api, w, h }) => {
        const c = document.createElement('canvas');
        document.body.replaceChildren(c);
        c.width = w;
        c.height = h;
        c.style.width = `${w}px`;
        c.style.height = `${h}px`;
        let draw;
        if (api === 'webgpu') {
          const adapter = await navigator.gpu?.requestAdapter();
          if (!adapter) return null;
          const device = await adapter.requestDevice();
          const ctx = c.getContext('webgpu');
          ctx.configure({ device, format: navigator.gpu.getPreferredCanvasFormat(), alphaMode: 'opaque' });
          draw = (k) => {
            const enc = device.createCommandEncoder();
            enc.beginRenderPass({ colorAttachments: [{ view: ctx.getCurrentTexture().createView(), loadOp: 'clear', storeOp: 'store',
              clearValue: { r: (k % 30) / 30, g: 0.2, b: 0.2, a: 1 } }] }).end();
            device.queue.submit([enc.finish()]);
          };
        } else {
          const gl = c.getContext('webgl2');
          if (!gl) return null;
          draw = (k) => {
            gl.clearColor((k % 30) / 30, 0.2, 0.2, 1);
            gl.clear(gl.COLOR_BUFFER_BIT);
          };
        }
        const ts = [];
        await new Promise((resolve) => {
          let k = 0;
          const f = (t) => {
            ts.push(t);
            if (t - ts[0] > 3000 || k > 1000) return resolve();
            if (k++ % 2 === 0) draw(k);
            requestAnimationFrame(f);
          };
          requestAnimationFrame(f);
        });
        return ts.slice(1).map((t, i) => t - ts[i]);
      }, { api, w, h });
    }
    const stats = (iv) => (iv ? { frames: iv.length + 1, frameMean: iv.reduce((a, b) => a + b, 0) / iv.length, frameP50: quantile(iv, 0.5), frameP95: quantile(iv, 0.95), frameMax: max(iv) } : null);
    return {
      canvas: [w, h], webgpu: stats(out.webgpu), webgl2: stats(out.webgl2),
      
    };
  });
}

// ---------------------------------------------------------------- part 2: memory
async function memoryRun() {
  return inFreshPage(`${URL_}?budget=${BUDGET_MIB}`, async (page) => {
    const opened = await openStudy(page);
    const budget = opened.open.room.cache.budget;
    if (budget !== BUDGET_MIB * 2 ** 20) throw new Error(`the viewer's budget is ${budget}, not ${BUDGET_MIB} MiB`);
    // the loaders fill the budget around slice 1 and stop: wait until nothing changes for 2 s
    let last = '';
    let still = Date.now();
    for (let guard = 0; guard < 600 && Date.now() - still < 2000; guard++) {
      const s = await state(page);
      const key = JSON.stringify([s.open.room.cache.items, s.open.room.study.loaded]);
      if (key !== last) {
        last = key;
        still = Date.now();
      }
      await page.waitForTimeout(100);
    }
    const before = await state(page);
    await page.evaluate(() => window.obscura.frameLog());
    const down = SLICES - 1;
    const count = 2 * down;
    const run = await page.evaluate(scrollInPage, { down, count, rate: RATE, settleMs: 1000, pollMs: 100 });
    run.log = await page.evaluate(() => window.obscura.frameLog());
    const afterScroll = await state(page);
    if (afterScroll.open.current !== 0) throw new Error(`the wheel left the viewer on slice ${afterScroll.open.current + 1}, not 1`);
    // how long until the last position (slice 1) shows its image once the wheel stops
    const lastWheel = run.wheels[run.wheels.length - 1].t;
    const firstShown = run.log.find((f) => f.t >= lastWheel - 1 && f.slices[0] === 0 && f.shown[0]);
    const end = await state(page);
    const c = end.open.room.cache;
    const samples = run.samples;
    const heap = await page.evaluate(() => performance.memory?.usedJSHeapSize ?? null);
    const wasm = await page.evaluate(() => window.obscura.wasmMemoryBytes?.() ?? null);
    const a = analyse(run, 0, down, count);
    return {
      backend: end.backend,
      chromium: await chromiumVersion(page),
      budget: c.budget,
      studyPixelBytes: SLICES * 512 * 512 * 2,
      itemsBeforeScroll: before.open.room.cache.items,
      bytesBeforeScroll: before.open.room.cache.bytes,
      peak: c.peak,
      maxBytesSeen: Math.max(...samples.map((x) => x.bytes)),
      maxItemsSeen: Math.max(...samples.map((x) => x.items)),
      items: c.items,
      bytes: c.bytes,
      evictions: c.evictions,
      samples: samples.length,
      neverExceeded: c.peak <= c.budget && samples.every((x) => x.bytes <= c.budget),
      loadedOnce: end.open.room.study.loaded,
      positions: count,
      positionsShown: count - a.positionsNotShown,
      positionsDrawn: count - a.positionsNotDrawn,
      lastPositionShownMs: firstShown ? firstShown.t - lastWheel : null,
      frameP50: a.frameP50,
      frameP95: a.frameP95,
      drawP50: a.drawP50,
      drawP95: a.drawP95,
      jsHeapBytes: heap,
      wasmMemoryBytes: wasm,
    };
  });
}

// ---------------------------------------------------------------- main
const BACKENDS = [
  { name: 'webgpu', label: 'WebGPU', query: '' },
  { name: 'webgl2', label: 'WebGL2', query: '?gpu=webgl' },
];
const results = {
  slices: SLICES, reps: REPS, rate: RATE, cores: os.cpus().length, loadAverageBefore: os.loadavg(),
  chromium: null, scroll: {}, memory: null,
};
console.log(`bench scroll: ${SLICES} slices, ${RATE} slices/s, ${REPS} rounds per backend, part ${PART}`);
if (PART !== 'memory') {
  for (const b of BACKENDS) results.scroll[b.name] = { runs: [] };
  for (let rep = 0; rep < REPS; rep++) {
    // alternate which backend goes first
    for (const b of rep % 2 ? [...BACKENDS].reverse() : BACKENDS) {
      const r = await scrollRun(b.name, b.query);
      results.chromium ??= r.chromium;
      results.scroll[b.name].runs.push(r);
      console.log(`  ${b.label} round ${rep + 1}: frame p50 ${r.frameP50.toFixed(1)} p95 ${r.frameP95.toFixed(1)} max ${r.frameMax.toFixed(1)} ms, ` +
        `draw p50 ${r.drawP50.toFixed(2)} p95 ${r.drawP95.toFixed(2)} ms, ${r.positionsNotDrawn} positions not drawn, ` +
        `${r.longIntervals} long intervals (backend ${r.backend})`);
    }
  }
  for (const b of BACKENDS) {
    const runs = results.scroll[b.name].runs;
    const m = {};
    for (const k of Object.keys(runs[0])) if (typeof runs[0][k] === 'number') m[k] = median(runs.map((r) => r[k]));
    m.backend = [...new Set(runs.map((r) => r.backend))].join('/');
    results.scroll[b.name].median = m;
  }
  results.baseline = await baselineRun(results.scroll.webgpu.runs[0].canvas);
}
if (PART !== 'scroll') {
  const r = await memoryRun();
  results.chromium ??= r.chromium;
  results.memory = r;
}
results.loadAverageAfter = os.loadavg();

// ---------------------------------------------------------------- report
const f = (x, d = 1) => (x == null ? '–' : x.toFixed(d));
const mib = (x) => (x == null ? '–' : `${(x / 2 ** 20).toFixed(1)} MiB`);
console.log(`\nChromium ${results.chromium} headless (SwiftShader: software Vulkan/GL on the CPU), ${results.cores} logical cores (shared); ` +
  `${SLICES} slices of 512×512 16-bit CT served by \`obscura serve --demo\` on 127.0.0.1; wheel at ${RATE} slices/s, down the stack and back`);
console.log(`load average (1 min) before / after: ${results.loadAverageBefore[0].toFixed(2)} / ${results.loadAverageAfter[0].toFixed(2)}`);
if (PART !== 'memory') {
  console.log(`\nScrolling, every slice loaded (median of ${REPS} rounds; frame = interval between animation frames)\n`);
  const rows = [['backend', 'frame p50 ms', 'frame p95 ms (target ≤ 16)', 'frame max ms', 'draw p50 ms', 'draw p95 ms',
    'positions not drawn', 'long intervals (> 1.5× p50)', 'dropped', 'vsyncs missed at 60 Hz', 'frames']];
  for (const b of BACKENDS) {
    const m = results.scroll[b.name].median;
    rows.push([`${b.label} (${m.backend})`, f(m.frameP50), `${f(m.frameP95)} ${m.frameP95 <= TARGET_P95_MS ? '(met)' : '(over)'}`, f(m.frameMax),
      f(m.drawP50, 2), f(m.drawP95, 2), `${f(m.positionsNotDrawn, 0)} of ${2 * (SLICES - 1)}`, f(m.longIntervals, 0),
      f(m.dropped, 0), f(m.missed60, 0), f(m.frames, 0)]);
  }
  const w = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
  for (const r of rows) console.log(r.map((x, c) => (c === 0 ? String(x).padEnd(w[c]) : String(x).padStart(w[c]))).join('   '));
  const base = results.baseline;
  const fr = (x) => (x ? `frame mean ${f(x.frameMean)} p50 ${f(x.frameP50)} p95 ${f(x.frameP95)} max ${f(x.frameMax)} ms` : '–');
  console.log(`\nthe browser's floor: a ${base.canvas.join('×')} canvas (the viewer's) cleared every other frame, no shader: ` +
    BACKENDS.map((b) => `${b.label} ${fr(base[b.name])}`).join('; '));
  for (const b of BACKENDS) {
    const m = results.scroll[b.name].median;
    console.log(`${b.label}: wheel timers late by ${f(m.wheelLateP95)} ms (p95); wasm memory ${mib(m.wasmMemoryBytes)}, ` +
      `JS heap ${mib(m.jsHeapBytes)}, cache ${mib(m.cacheBytes)}`);
    const busiest = results.scroll[b.name].runs[0].busiest;
    if (busiest) {
      console.log(`  ${b.label}, round 1, busiest tasks during the scroll (thread | task: ms, count):`);
      for (const [k, ms, n] of busiest) console.log(`    ${k}: ${ms} ms, ${n}`);
    }
  }
}
if (PART !== 'scroll') {
  const m = results.memory;
  console.log(`\nMemory: budget ${mib(m.budget)} (?budget=${BUDGET_MIB}), the whole stack down and back at ${RATE} slices/s, cache polled every 100 ms (${m.samples} samples)`);
  console.log(`  cache peak ${mib(m.peak)}, most bytes seen ${mib(m.maxBytesSeen)}, items now ${m.items} (most ${m.maxItemsSeen}), ` +
    `evictions ${m.evictions}: ${m.neverExceeded ? 'never exceeded the budget' : 'EXCEEDED the budget'}`);
  console.log(`  before scrolling: ${m.itemsBeforeScroll} slices (${mib(m.bytesBeforeScroll)}) cached around slice 1; ` +
    `slices decoded at least once: ${m.loadedOnce} of ${SLICES}`);
  console.log(`  scroll positions showing their image while current: ${m.positionsShown} of ${m.positions} (drawn at all: ${m.positionsDrawn}); ` +
    `slice 1 shown ${m.lastPositionShownMs == null ? 'not within 1 s' : `${f(m.lastPositionShownMs, 0)} ms`} after the last wheel event`);
  console.log(`  frames p50 ${f(m.frameP50)} p95 ${f(m.frameP95)} ms, draw p50 ${f(m.drawP50, 2)} p95 ${f(m.drawP95, 2)} ms; ` +
    `wasm memory ${mib(m.wasmMemoryBytes)}, JS heap ${mib(m.jsHeapBytes)} (backend ${m.backend})`);
}
const json = JSON.stringify(results, null, 2);
fs.writeFileSync(path.join(OUT, 'results.json'), json);
if (process.env.BENCH_JSON) fs.writeFileSync(process.env.BENCH_JSON, json);
console.log(`\nresults: ${path.join(OUT, 'results.json')}`);
