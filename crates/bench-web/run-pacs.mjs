// Runner of `cargo xtask bench pacs`, inside `cargo xtask pacs --bench` (a loopback-only network
// namespace with Orthanc + DICOMweb behind nginx: crates/xtask/src/pacs.rs). One headless
// Chromium (Debian's, through Playwright), one Orthanc, one synthetic CT:
//
//   1. the sealed study is pushed (`obscura push`), the viewer enrols its reader key through demo
//      mode (`obscura serve --demo`), the study is pushed again (the manifest version that names
//      the reader); the same CT's plaintext files are stored next to it with STOW-RS;
//   2. untimed warm-up runs of every path, then BENCH_REPS rounds (default 3) of timed runs, the
//      order of the paths rotated each round, each run in a fresh page with the browser's HTTP
//      cache cleared first (DevTools `Network.clearBrowserCache`);
//   3. a table of medians and ratios; results as JSON (target/bench-pacs/results.json, and
//      BENCH_JSON) and a bar chart (target/bench-pacs/bench-pacs.svg, and BENCH_SVG).
//
// Prints numbers; asserts nothing about time. It fails only when a path does not load the study
// completely, or the decoded pixels differ between the paths that report them.
import { spawn, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium, serveSite } from './serve.mjs';
import { GPU_ARGS, QUIET_ARGS, requireEnv, waitFor, unlockWithPassphrase } from '../../tests/e2e/lib.mjs';
import { barChart } from './pacs/plot.mjs';

const env = (k) => requireEnv(k, 'cargo xtask bench pacs');
const BIN = env('OBSCURA_BIN');
const SITE = env('OBSCURA_SITE');
const KEYS = env('OBSCURA_KEYS');
const STORE = env('OBSCURA_STORE');
const PLAIN = env('OBSCURA_PLAINTEXT');
const VIEWER_PORT = Number(env('OBSCURA_VIEWER_PORT'));
const BENCH_SITE = env('BENCH_SITE');
const BENCH_PORT = Number(env('BENCH_PORT'));
const PACS = env('OBSCURA_PACS_URL');
const RAW = env('OBSCURA_PACS_RAW');
const CA = fs.readFileSync(env('OBSCURA_PACS_CA'));
const SPKI = env('OBSCURA_PACS_SPKI');
const TOKEN = env('OBSCURA_PACS_TOKEN');
const REPS = Number(process.env.BENCH_REPS || 3);
const OUT_DIR = path.resolve(BENCH_SITE, '..');
const VIEWER = `http://127.0.0.1:${VIEWER_PORT}/`;
const BENCH = `http://127.0.0.1:${BENCH_PORT}/`;
const RUN_TIMEOUT = 300000;
if (!(REPS >= 1 && REPS <= 50)) throw new Error('BENCH_REPS must be 1..50');
// The paths, in the order of the table.
const ORDER = ['viewer', 'encrypted', 'encryptedEarlyWorkers', 'plain', 'download', 'downloadPlain', 'cornerstone', 'cornerstone4'];
const LABELS = {
  viewer: 'Obscura viewer, encrypted (the real viewer)',
  encrypted: "Obscura pipeline, encrypted (viewer's fetch+decrypt+decode)",
  encryptedEarlyWorkers: 'Obscura pipeline, encrypted, decode workers already started',
  plain: 'Obscura pipeline, unencrypted (the same minus decryption)',
  download: 'bare ciphertext download (4 in flight)',
  downloadPlain: 'bare plaintext download (4 in flight)',
  cornerstone: 'Cornerstone3D, unencrypted (its defaults)',
  cornerstone4: 'Cornerstone3D, unencrypted, 4 images in flight',
};

// Machine-wide CPU time (all cores, ms) from /proc/stat: the browser, nginx and Orthanc share
// this machine's cores, so a path's wall time only means something next to what it cost them.
function cpuTimes() {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const hz = 100; // USER_HZ, fixed at 100 on Linux
  const idle = f[3] + (f[4] || 0);
  const total = f.reduce((a, b) => a + b, 0);
  return { busyMs: ((total - idle) * 1000) / hz, at: performance.now() };
}
// `fn()`'s result, with the CPU it and everything else on the machine used meanwhile.
async function withCpu(fn) {
  const before = cpuTimes();
  const r = await fn();
  const after = cpuTimes();
  return { ...r, cpuMs: after.busyMs - before.busyMs, cpuWallMs: after.at - before.at };
}

const files = fs.readdirSync(PLAIN).filter((f) => f.endsWith('.dcm')).sort();
const SLICES = files.length;

// ---------------------------------------------------------------- the PACS, from node
// One HTTPS request to the PACS (HTTP/1.1, the harness's CA, the bearer token, no
// `Expect: 100-continue`); resolves to {status, headers, body}.
function pacsRequest(url, { method = 'GET', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method, ca: CA, headers: { Authorization: `Bearer ${TOKEN}`, ...headers }, timeout: 120000 }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url}: no answer for 120 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

async function pacsJson(url) {
  const r = await pacsRequest(url, { headers: { Accept: 'application/dicom+json' } });
  if (r.status === 204) return [];
  if (r.status !== 200) throw new Error(`GET ${url}: HTTP ${r.status} ${r.body.toString().slice(0, 200)}`);
  return JSON.parse(r.body.toString());
}

// STOW-RS of the plaintext files, 20 per request; returns the study's UIDs and each instance's
// SOP Instance UID from the answers' Retrieve URLs.
async function stowPlaintext() {
  const sops = [];
  for (let at = 0; at < files.length; at += 20) {
    const boundary = `obscura-bench-${crypto.randomBytes(8).toString('hex')}`;
    const parts = [];
    for (const f of files.slice(at, at + 20)) {
      parts.push(Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`), fs.readFileSync(path.join(PLAIN, f)), Buffer.from('\r\n'));
    }
    parts.push(Buffer.from(`--${boundary}--\r\n`));
    const body = Buffer.concat(parts);
    const r = await pacsRequest(`${PACS}/studies`, {
      method: 'POST',
      headers: {
        'Content-Type': `multipart/related; type="application/dicom"; boundary=${boundary}`,
        'Content-Length': body.length,
        Accept: 'application/dicom+json',
      },
      body,
    });
    if (r.status !== 200) throw new Error(`STOW-RS: HTTP ${r.status} ${r.body.toString().slice(0, 300)}`);
    const answer = JSON.parse(r.body.toString());
    if (answer['00081198']?.Value?.length) throw new Error(`STOW-RS refused instances: ${JSON.stringify(answer['00081198'])}`);
    for (const item of answer['00081199']?.Value || []) sops.push(item['00081190'].Value[0]);
  }
  const m = /\/studies\/([0-9.]+)\/series\/([0-9.]+)\/instances\/[0-9.]+$/.exec(sops[0] || '');
  if (sops.length !== SLICES || !m) throw new Error(`STOW-RS stored ${sops.length} of ${SLICES} instances`);
  return { studyUid: m[1], seriesUid: m[2] };
}

// Orthanc's identifier of an instance (as obscura_dicomweb::layout::orthanc_instance_id).
function orthancId(patientId, study, series, sop) {
  const h = crypto.createHash('sha1').update(`${patientId}|${study}|${series}|${sop}`).digest('hex');
  return [0, 8, 16, 24, 32].map((i) => h.slice(i, i + 8)).join('-');
}

// ---------------------------------------------------------------- helpers
const first = (m, t) => m[t]?.Value?.[0];
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function waitPort(port, timeout = 20000) {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const s = net.connect(port, '127.0.0.1', () => { s.end(); resolve(); });
      s.on('error', () => {
        if (Date.now() - start > timeout) reject(new Error(`nothing listens on ${port} after ${timeout} ms`));
        else setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}

function push() {
  const out = execFileSync(BIN, ['push', '--store', STORE, '--url', PACS, '--ca-file', env('OBSCURA_PACS_CA'), '--token-env', 'OBSCURA_PACS_TOKEN'],
    { encoding: 'utf8', env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  return out.trim().split('\n').pop();
}

// The escrow key of the demo organisation (a recipient of every study) as a JWK, its SEC1 public
// key, and the organisation's public key: what the bench page needs to open the study as the
// viewer does.
function benchKeys() {
  const secret = fs.readFileSync(path.join(KEYS, 'escrow.key'), 'utf8').split('\n');
  if (secret[1] !== 'kind: escrow-ecdh') throw new Error('escrow.key is not an escrow key');
  const d = Buffer.from(secret[2].trim(), 'base64');
  const ecdh = crypto.createECDH('prime256v1');
  ecdh.setPrivateKey(d);
  const pub = ecdh.getPublicKey();
  const b64url = (b) => b.toString('base64url');
  return {
    escrowJwk: { kty: 'EC', crv: 'P-256', d: b64url(d), x: b64url(pub.subarray(1, 33)), y: b64url(pub.subarray(33, 65)), ext: false },
    escrowSec1: pub.toString('base64'),
    orgSec1: fs.readFileSync(path.join(KEYS, 'org.pub'), 'utf8').split('\n')[0].trim(),
  };
}

// ---------------------------------------------------------------- setup
console.log(`bench pacs: ${SLICES} slices, ${REPS} timed rounds`);
let server;
let static_;
let context;
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'obscura-bench-pacs-'));
const cleanup = async () => {
  if (context) await context.close().catch(() => {});
  if (server) server.kill('SIGTERM');
  if (static_) static_.close();
  fs.rmSync(profile, { recursive: true, force: true });
};
process.on('SIGTERM', () => cleanup().then(() => process.exit(143)));
process.on('SIGINT', () => cleanup().then(() => process.exit(130)));

const results = { slices: SLICES, reps: REPS, cores: os.cpus().length, loadAverageBefore: os.loadavg(), runs: [] };
try {
  console.log(`push (sealed): ${push()}`);
  const t = Date.now();
  const plainStudy = await stowPlaintext();
  console.log(`STOW-RS (plaintext): ${SLICES} instances in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  const plainInstances = (await pacsJson(`${PACS}/studies/${plainStudy.studyUid}/instances`))
    .sort((a, b) => first(a, '00200013') - first(b, '00200013'));
  const plainUrls = plainInstances.map((m) =>
    `${RAW}/instances/${orthancId(first(m, '00100020'), first(m, '0020000D'), first(m, '0020000E'), first(m, '00080018'))}/file`);
  if (plainUrls.length !== SLICES) throw new Error(`QIDO lists ${plainUrls.length} plaintext instances`);

  // With a parent-death signal, so that the viewer's server never outlives this script.
  const serve = [BIN, 'serve', '--demo', '--keys', KEYS, '--store', STORE, '--site', SITE, '--port', String(VIEWER_PORT),
    '--dicomweb', PACS, '--orthanc-raw', RAW];
  const setpriv = '/usr/bin/setpriv';
  server = fs.existsSync(setpriv)
    ? spawn(setpriv, ['--pdeathsig', 'TERM', '--', ...serve], { stdio: ['ignore', 'inherit', 'inherit'] })
    : spawn(serve[0], serve.slice(1), { stdio: ['ignore', 'inherit', 'inherit'] });
  await waitPort(VIEWER_PORT);
  static_ = await serveSite(BENCH_SITE, BENCH_PORT);
  context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [...GPU_ARGS, ...QUIET_ARGS, `--ignore-certificate-errors-spki-list=${SPKI}`],
    viewport: { width: 1100, height: 800 },
    deviceScaleFactor: 1,
  });
  results.chromium = context.browser()?.version() ?? null;

  // A fresh page with the HTTP cache cleared; `fn(page)` runs on it, then it is closed.
  async function inFreshPage(url, fn) {
    const page = await context.newPage();
    const lines = [];
    page.on('console', (m) => lines.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => lines.push(`pageerror: ${e.message}`));
    try {
      const cdp = await context.newCDPSession(page);
      await cdp.send('Network.clearBrowserCache');
      await cdp.detach();
      await page.goto(url);
      return await fn(page);
    } catch (e) {
      console.log(lines.slice(-20).map((l) => `  page: ${l}`).join('\n'));
      throw e;
    } finally {
      await page.close();
    }
  }

  // The viewer's state, polled every 50 ms (its clocks are its own; the poll ends the CPU window).
  const waitState = (page, what, pred, timeout) => waitFor(page, what, pred, timeout, 50);
  async function viewerToList(page, studies) {
    // The first visit protects a new reader key with the test passphrase, later ones unlock it.
    await unlockWithPassphrase(page);
    await page.waitForSelector('#auth:not([hidden])', { timeout: 60000 });
    await page.selectOption('#auth-kind', 'bearer');
    await page.fill('#auth-secret', TOKEN);
    await page.click('#auth button[type=submit]');
    return waitState(page, `the list (${studies} studies)`, (s) => s.phase === 'list' && s.studies === studies, 120000);
  }

  // Enrolment: the first visit creates the reader key, demo mode certifies it and re-wraps the
  // study in the gateway's store; pushing again sends the manifest version that names it.
  await inFreshPage(VIEWER, (page) => viewerToList(page, 0));
  console.log(`push (the manifest version for the viewer's reader key): ${push()}`);

  const keys = benchKeys();
  const common = { dicomweb: PACS, raw: RAW, token: TOKEN, ...keys };

  const PATHS = {
    viewer: {
      run: () => inFreshPage(VIEWER, async (page) => {
        await viewerToList(page, 1);
        const { s, cpuMs, cpuWallMs } = await withCpu(async () => {
          await page.click('button.study');
          return { s: await waitState(page, 'every slice', (s) => s.open && s.open.ready + s.open.failed.length === s.open.slices, RUN_TIMEOUT) };
        });
        if (s.open.failed.length) throw new Error(`viewer: ${s.open.failed.length} slices failed: ${s.open.errors[0]}`);
        return { cpuMs, cpuWallMs, firstMs: s.open.first_image_ms, completeMs: s.open.complete_ms, bytes: s.open.bytes_received, slices: s.open.slices, backend: s.backend };
      }),
    },
    encrypted: {
      run: () => benchPage((page) => page.evaluate(() => window.benchPacs.run('encrypted'))),
    },
    encryptedEarlyWorkers: {
      // The decode workers started when the page is ready, a second before the click (the viewer
      // starts them on its first decode, inside its time to first image).
      run: () => benchPage(async (page) => {
        if (!(await page.evaluate(() => window.benchPacs.startDecodeWorkers()))) throw new Error('no decode workers');
        await page.waitForTimeout(1000);
        return page.evaluate(() => window.benchPacs.run('encrypted'));
      }),
    },
    plain: {
      run: () => benchPage((page) => page.evaluate((urls) => window.benchPacs.run('plain', urls), plainUrls)),
    },
    download: {
      run: () => benchPage((page) => page.evaluate(() => window.benchPacs.run('download'))),
    },
    downloadPlain: {
      run: () => benchPage((page) => page.evaluate((urls) => window.benchPacs.run('download-plain', urls), plainUrls)),
    },
    cornerstone: {
      run: () => cornerstone(0),
    },
    cornerstone4: {
      run: () => cornerstone(4),
    },
  };
  async function benchPage(fn) {
    return inFreshPage(`${BENCH}pacs.html`, async (page) => {
      await page.waitForFunction(() => window.benchPacs, null, { timeout: 60000 });
      const prepared = await page.evaluate((c) => window.benchPacs.prepare(c), common);
      if (prepared.slices !== SLICES) throw new Error(`the bench page sees ${prepared.slices} slices`);
      return withCpu(() => fn(page));
    });
  }
  async function cornerstone(inFlight) {
    return inFreshPage(`${BENCH}cornerstone.html`, async (page) => {
      await page.waitForFunction(() => window.benchCornerstoneReady, null, { timeout: 60000 });
      const r = await withCpu(() => page.evaluate((o) => window.benchCornerstone(o), { dicomweb: PACS, token: TOKEN, ...plainStudy, inFlight }));
      if (r.loaded !== SLICES) throw new Error(`Cornerstone loaded ${r.loaded} of ${SLICES} images`);
      return r;
    });
  }

  const order = ORDER;
  const runOnce = async (name, round) => {
    const start = Date.now();
    let timer;
    const r = await Promise.race([
      PATHS[name].run(),
      new Promise((_, fail) => {
        timer = setTimeout(() => fail(new Error(`${name}: no result after ${RUN_TIMEOUT / 1000 + 30} s`)), RUN_TIMEOUT + 30000);
      }),
    ]).finally(() => clearTimeout(timer));
    if (r.cpuMs != null) r.coresBusy = r.cpuMs / r.cpuWallMs;
    results.runs.push({ path: name, round, ...r });
    const f = (x) => (x == null ? '–' : `${x.toFixed(0)} ms`);
    console.log(`  ${round < 0 ? 'warm-up' : `round ${round + 1}`}  ${name.padEnd(12)} first ${f(r.firstMs).padStart(8)}  complete ${f(r.completeMs).padStart(8)}` +
      `${r.firstRenderedMs != null ? `  (first rendered ${f(r.firstRenderedMs)})` : ''}  [${((Date.now() - start) / 1000).toFixed(1)} s with page set-up]`);
    return r;
  };
  // Warm-up: every path once, untimed (Orthanc's files into the OS page cache; it also checks that
  // both pipelines decode the same pixels). Clearing the HTTP cache clears the CORS preflight
  // cache too: every run preflights every URL, as a first open of the study does.
  const warm = {};
  for (const name of order) warm[name] = await runOnce(name, -1);
  if (warm.encrypted.pixelsChecksum !== warm.plain.pixelsChecksum) {
    throw new Error(`the encrypted and unencrypted pipelines decoded different pixels (${warm.encrypted.pixelsChecksum} vs ${warm.plain.pixelsChecksum})`);
  }
  if (warm.encrypted.decoded !== SLICES || warm.plain.decoded !== SLICES) throw new Error('a pipeline did not decode every slice');
  for (let round = 0; round < REPS; round++) {
    const k = round % order.length;
    for (const name of [...order.slice(k), ...order.slice(0, k)]) await runOnce(name, round);
  }
} finally {
  await cleanup();
}

// ---------------------------------------------------------------- report
results.loadAverageAfter = os.loadavg();
const timed = results.runs.filter((r) => r.round >= 0);
const med = {};
for (const name of new Set(timed.map((r) => r.path))) {
  const rs = timed.filter((r) => r.path === name);
  const m = (k) => (rs.every((r) => r[k] != null) ? median(rs.map((r) => r[k])) : null);
  med[name] = {
    firstMs: m('firstMs'), completeMs: m('completeMs'), firstRenderedMs: m('firstRenderedMs'), firstFetchedMs: m('firstFetchedMs'),
    unlockMs: m('unlockMs'), cpuMs: m('cpuMs'), coresBusy: m('coresBusy'), bytes: rs[0].bytes ?? null, n: rs.length,
  };
}
results.medians = med;
const ratio = (a, b) => (a != null && b ? a / b : null);
results.ratios = {
  e2eeComplete: ratio(med.encrypted.completeMs, med.plain.completeMs),
  e2eeFirst: ratio(med.encrypted.firstMs, med.plain.firstMs),
  viewerOverPlainComplete: ratio(med.viewer.completeMs, med.plain.completeMs),
  viewerOverPlainFirst: ratio(med.viewer.firstMs, med.plain.firstMs),
  viewerOverDownload: ratio(med.viewer.completeMs, med.download.completeMs),
  encryptedOverDownload: ratio(med.encrypted.completeMs, med.download.completeMs),
  downloadOverDownloadPlain: ratio(med.download.completeMs, med.downloadPlain.completeMs),
  viewerOverCornerstoneFirst: ratio(med.viewer.firstMs, med.cornerstone.firstMs),
  viewerOverCornerstoneComplete: ratio(med.viewer.completeMs, med.cornerstone.completeMs),
  viewerOverCornerstone4First: ratio(med.viewer.firstMs, med.cornerstone4.firstMs),
  viewerOverCornerstone4Complete: ratio(med.viewer.completeMs, med.cornerstone4.completeMs),
};
const cs = timed.find((r) => r.path === 'cornerstone');
results.cornerstone = { workers: cs?.workers ?? null, metadataMs: median(timed.filter((r) => r.path === 'cornerstone').map((r) => r.metadataMs)) };

const ms = (x) => (x == null ? '–' : x.toFixed(0));
const mb = (x) => (x == null ? '–' : (x / 1e6).toFixed(1));
console.log(`\nChromium ${results.chromium} headless, ${os.cpus().length} logical cores; ${SLICES} slices of 512×512 16-bit CT ` +
  `(Explicit VR LE, ${mb(med.plain.bytes)} MB plaintext); Orthanc behind nginx (TLS, HTTP/2) in a loopback namespace; ` +
  `median of ${REPS} runs each, fresh page and empty HTTP cache per run; ms from the click (viewer) or the call (others)\n`);
const rows = [
  ['path', 'ms to first image', 'ms to complete', 'MB', 'CPU ms (cores busy)'],
  ...ORDER.map((n) => [LABELS[n], ms(med[n].firstMs) + (med[n].firstRenderedMs != null ? ` (rendered ${ms(med[n].firstRenderedMs)})` : ''), ms(med[n].completeMs), mb(med[n].bytes),
    `${ms(med[n].cpuMs)} (${med[n].coresBusy?.toFixed(2) ?? '–'})`]),
];
const w = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
for (const r of rows) console.log(r.map((x, c) => (c === 0 ? String(x).padEnd(w[c]) : String(x).padStart(w[c]))).join('   '));
const rt = results.ratios;
const f2 = (x) => (x == null ? '–' : x.toFixed(3));
console.log(`\nE2EE overhead, encrypted / unencrypted pipeline: complete ${f2(rt.e2eeComplete)}, first image ${f2(rt.e2eeFirst)} (target ≤ 1.03)`);
console.log(`  the real viewer over the unencrypted pipeline: complete ${f2(rt.viewerOverPlainComplete)}, first image ${f2(rt.viewerOverPlainFirst)}`);
console.log(`  of which transport and server (sealed objects from the carriers' raw endpoint vs plaintext files): ` +
  `ciphertext / plaintext download ${f2(rt.downloadOverDownloadPlain)}; study key unwrap ${med.encrypted.unlockMs?.toFixed(1)} ms`);
console.log(`  slice 1 in hand (fetched, decrypted) at ${ms(med.encrypted.firstFetchedMs)} ms encrypted, ${ms(med.plain.firstFetchedMs)} ms ` +
  `unencrypted; its decode (which starts the decode worker) ends at ${ms(med.encrypted.firstMs)} / ${ms(med.plain.firstMs)} ms ` +
  `(${ms(med.encryptedEarlyWorkers.firstMs)} ms with the workers started before the click)`);
console.log(`  CPU (machine-wide, ${os.cpus().length} cores): the bare download keeps ${med.download.coresBusy?.toFixed(2)} cores busy; ` +
  `decryption costs ${ms(med.encrypted.cpuMs - med.plain.cpuMs)} ms of CPU over the unencrypted pipeline ` +
  `(${ms(med.encrypted.completeMs - med.plain.completeMs)} ms of wall time)`);
console.log(`viewer complete / bare ciphertext download: ${f2(rt.viewerOverDownload)} (pipeline: ${f2(rt.encryptedOverDownload)}) (target ≤ 1.2)`);
console.log(`viewer (encrypted) / Cornerstone (unencrypted, defaults): first image ${f2(rt.viewerOverCornerstoneFirst)}, complete ${f2(rt.viewerOverCornerstoneComplete)} (target ≤ 1)`);
console.log(`viewer (encrypted) / Cornerstone (unencrypted, 4 in flight): first image ${f2(rt.viewerOverCornerstone4First)}, complete ${f2(rt.viewerOverCornerstone4Complete)}`);
console.log(`Cornerstone: ${results.cornerstone.workers ?? '?'} decode worker(s), series metadata ${ms(results.cornerstone.metadataMs)} ms (before its clock starts)`);
console.log(`load average (1 min) before / after: ${results.loadAverageBefore[0].toFixed(2)} / ${results.loadAverageAfter[0].toFixed(2)}`);

const json = JSON.stringify(results, null, 2);
fs.writeFileSync(path.join(OUT_DIR, 'results.json'), json);
if (process.env.BENCH_JSON) fs.writeFileSync(process.env.BENCH_JSON, json);
const svg = barChart(ORDER.map((n) => ({ label: LABELS[n], first: med[n].firstMs, complete: med[n].completeMs })),
  `Loading ${SLICES} CT slices from Orthanc in headless Chromium (median of ${REPS}; ${os.cpus().length} shared cores, SwiftShader)`);
fs.writeFileSync(path.join(OUT_DIR, 'bench-pacs.svg'), svg);
if (process.env.BENCH_SVG) fs.writeFileSync(process.env.BENCH_SVG, svg);
console.log(`\nresults: ${path.join(OUT_DIR, 'results.json')}, chart: ${path.join(OUT_DIR, 'bench-pacs.svg')}`);
