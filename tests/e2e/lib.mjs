// Helpers shared by the end-to-end tests: browser flags, the viewer's test hooks, an independent
// CPU rendering of the DICOM LINEAR VOI, pixel comparison, and the search for cleartext on disk.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const GPU_ARGS = ['--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-vulkan=swiftshader',
  '--use-webgpu-adapter=swiftshader', '--use-angle=swiftshader', '--enable-unsafe-swiftshader'];
export const QUIET_ARGS = ['--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
  '--disable-quic'];

// The value of environment variable `k`, which the xtask command `via` (e.g. `cargo xtask test`) sets.
export function requireEnv(k, via) {
  const v = process.env[k];
  if (!v) throw new Error(`${k} must be set (run through \`${via}\`)`);
  return v;
}

// The synthetic CT in folder `dir`: Explicit VR LE, Pixel Data last, 512x512 int16, rescale 1 / -1024.
export function slicePixels(dir, n) {
  const file = fs.readFileSync(path.join(dir, `CT${String(n).padStart(4, '0')}.dcm`));
  const px = file.subarray(file.length - 512 * 512 * 2);
  return { raw: px, values: Int16Array.from({ length: 512 * 512 }, (_, i) => px.readInt16LE(i * 2)) };
}

// DICOM PS3.3 C.11.2.1.2.1 LINEAR VOI, written independently of the Rust/WGSL implementations.
export function voiLinear(values, center, width, slope = 1, intercept = -1024) {
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const x = values[i] * slope + intercept;
    let y;
    if (x <= center - 0.5 - (width - 1) / 2) y = 0;
    else if (x > center - 0.5 + (width - 1) / 2) y = 255;
    else y = ((x - (center - 0.5)) / (width - 1) + 0.5) * 255;
    out[i] = Math.round(y);
  }
  return out;
}

export async function state(page) {
  return page.evaluate(() => window.obscura && window.obscura.state());
}

// Polls the viewer's state every `interval` ms until `pred` holds (the benchmarks poll faster, so
// that their clocks stop close to the event).
export async function waitFor(page, what, pred, timeout = 60000, interval = 100) {
  const start = Date.now();
  let last;
  while (Date.now() - start < timeout) {
    last = await state(page).catch(() => undefined);
    if (last && pred(last)) return last;
    await page.waitForTimeout(interval);
  }
  const status = await page.textContent('#status').catch(() => '?');
  throw new Error(`timed out waiting for ${what}; last state ${JSON.stringify(last)?.slice(0, 4000)}; status "${status}"`);
}

// The passphrase the tests protect their reader keys with.
export const TEST_PASSPHRASE = 'obscura e2e river stone 42';
// Phases of the key screens (crates/viewer/src/protect.rs), before the viewer lists anything.
const KEY_PHASES = ['booting', 'choose-protection', 'enrolling', 'locked', 'unlocking'];

// Past the key screens with a passphrase, the way a reader does it: on a profile without a key it
// protects a new reader key with `passphrase` (first run), on a profile that has one it unlocks it
// (after a reload or a restart). Returns the state once the keys are open (the viewer then enrols
// or lists).
export async function unlockWithPassphrase(page, passphrase = TEST_PASSPHRASE) {
  const s = await waitFor(page, 'the key screen', (s) => s.phase === 'choose-protection' || s.phase === 'locked', 120000);
  if (s.phase === 'choose-protection') {
    await page.fill('#new-passphrase', passphrase);
    await page.fill('#new-passphrase-again', passphrase);
    await page.click('#new-passphrase-form button[type=submit]');
  } else {
    await page.fill('#unlock-passphrase', passphrase);
    await page.click('#unlock-submit');
  }
  return waitFor(page, 'the reader keys open', (s) => !KEY_PHASES.includes(s.phase), 120000);
}

export async function readBack(page) {
  return page.evaluate(async () => {
    const r = await window.obscura.readBack();
    return r ? Array.from(r) : null;
  });
}

// `minLevels`: how many distinct gray levels the reference must have for the check to mean
// something (a narrow or wide window on the phantom's flat tissues leaves few).
export function compare(actual, expected, label, minLevels = 20) {
  assert.ok(actual, `${label}: nothing was read back`);
  assert.equal(actual.length, expected.length, `${label}: read-back size`);
  let worst = 0, bad = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (d > worst) worst = d;
    if (d > 1) bad++;
  }
  assert.equal(bad, 0, `${label}: ${bad} pixels differ from the CPU reference by more than 1 (worst ${worst})`);
  assert.ok(new Set(expected).size > minLevels, `${label}: the reference is too uniform to prove anything`);
}

export async function wheelTo(page, target) {
  const box = await page.locator('#canvas').boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  for (let guard = 0; guard < 500; guard++) {
    const s = await state(page);
    if (s.open.current === target) return;
    await page.mouse.wheel(0, s.open.current < target ? 100 : -100);
    await page.waitForTimeout(15);
  }
  throw new Error(`could not scroll to slice ${target}`);
}

// Fraction of non-black pixels, ignoring a margin (the element's edge row can blend with the page
// around it through sub-pixel layout).
export function nonBlackFraction(png, margin = 2) {
  let n = 0, total = 0;
  for (let y = margin; y < png.height - margin; y++) {
    for (let x = margin; x < png.width - margin; x++) {
      const o = (y * png.width + x) * png.bpp;
      total++;
      if (png.pixels[o] > 8 || png.pixels[o + 1] > 8 || png.pixels[o + 2] > 8) n++;
    }
  }
  return n / total;
}

export function* walk(dir) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else if (e.isFile()) yield p;
  }
}

// Needles for cleartext of the synthetic study: the patient's name as DICOM, as shown, in UTF-8
// and UTF-16, and a varied 64-byte raw pixel run of each of `slices` (1-based).
export function cleartextNeedles(patient, plainDir, slices = [10]) {
  const [family, ...given] = patient.split('^');
  const needles = [];
  for (const text of [patient, patient.replaceAll('^', ' '), `${family}, ${given.join(' ')}`]) {
    needles.push([text, Buffer.from(text, 'utf8')], [`${text} (UTF-16)`, Buffer.from(text, 'utf16le')]);
  }
  for (const n of slices) {
    const { raw } = slicePixels(plainDir, n);
    let runAt = -1;
    for (let off = 256 * 1024; off < raw.length - 64; off += 2) {
      const run = raw.subarray(off, off + 64);
      if (new Set(run).size > 24) { runAt = off; break; }
    }
    assert.ok(runAt >= 0, `found a varied pixel run in slice ${n}`);
    needles.push([`pixel run of slice ${n}`, raw.subarray(runAt, runAt + 64)]);
  }
  return needles;
}

// Every needle found in the files under `dir`, as "name in relative/path"; and how many files.
export function findNeedles(dir, needles) {
  const hits = [];
  let files = 0;
  for (const f of walk(dir)) {
    files++;
    const data = fs.readFileSync(f);
    for (const [name, needle] of needles) if (data.includes(needle)) hits.push(`${name} in ${path.relative(dir, f)}`);
  }
  return { hits, files };
}

// Debian's Chromium, headless, on a persistent profile in `profile`, with the GPU flags; returns
// the context, its page and the page's console lines (kept for the artifacts).
// `touch: true` makes it a touch device (a tablet: touch events, `pointer: coarse`).
export async function launchBrowser(profile, { args = [], viewport = { width: 1100, height: 800 }, deviceScaleFactor = 1, touch = false } = {}) {
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [...GPU_ARGS, ...QUIET_ARGS, ...args],
    viewport,
    deviceScaleFactor,
    hasTouch: touch,
    isMobile: touch,
  });
  const page = context.pages()[0] || await context.newPage();
  const consoleLines = [];
  page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
  return { context, page, consoleLines };
}

// Multi-finger touch gestures through the DevTools protocol (Playwright's touchscreen only taps).
// Each gesture moves its fingers in `steps` straight steps, `stepMs` apart; points are CSS pixels
// in the page.
export async function touchGestures(page) {
  const cdp = await page.context().newCDPSession(page);
  const send = (type, points) => cdp.send('Input.dispatchTouchEvent', {
    type, touchPoints: points.map(([x, y], id) => ({ x, y, id, radiusX: 4, radiusY: 4, force: 1 })),
  });
  const lerp = (a, b, t) => [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t];
  // Fingers from `from[i]` to `to[i]`, lifted at the end unless `keep`.
  async function move(from, to, { steps = 8, stepMs = 16, holdMs = 0 } = {}) {
    await send('touchStart', from);
    if (holdMs) await page.waitForTimeout(holdMs);
    for (let k = 1; k <= steps; k++) {
      await send('touchMove', from.map((p, i) => lerp(p, to[i], k / steps)));
      await page.waitForTimeout(stepMs);
    }
    await send('touchEnd', []);
  }
  return {
    cdp,
    tap: (p) => move([p], [p], { steps: 0 }),
    // one finger, vertical swipe by dy
    swipe: (p, dy, opts) => move([p], [[p[0], p[1] + dy]], opts),
    // two fingers around `c`, their distance going from d0 to d1
    pinch: (c, d0, d1, opts) => move(
      [[c[0] - d0 / 2, c[1]], [c[0] + d0 / 2, c[1]]],
      [[c[0] - d1 / 2, c[1]], [c[0] + d1 / 2, c[1]]], opts),
    // two fingers side by side, moved together by [dx, dy]
    pan2: (c, [dx, dy], opts) => move(
      [[c[0] - 30, c[1]], [c[0] + 30, c[1]]],
      [[c[0] - 30 + dx, c[1] + dy], [c[0] + 30 + dx, c[1] + dy]], opts),
    // one finger held still for holdMs, then dragged by [dx, dy]
    holdDrag: (p, [dx, dy], holdMs, opts) => move([p], [[p[0] + dx, p[1] + dy]], { ...opts, holdMs }),
  };
}

// The DER prefix of a P-256 private key in PKCS#8, as WebCrypto exports it (and as Chromium
// serialises a CryptoKey stored in IndexedDB), raw and in base64: private key material in clear.
export const PKCS8_P256 = Buffer.from('308187020100301306072a8648ce3d020106082a8648ce3d030107046d306b0201010420', 'hex');

// Everything the viewer's IndexedDB holds, described in the page: CryptoKeys (with their
// extractability), and whether any value carries PKCS#8 or JWK private key material in clear.
export async function indexedDbAtRest(page) {
  return page.evaluate(async (pkcs8Hex) => {
    const pkcs8 = Uint8Array.from(pkcs8Hex.match(/../g).map((h) => parseInt(h, 16)));
    const pkcs8B64 = btoa(String.fromCharCode(...pkcs8)).slice(0, 40);
    const db = await new Promise((res, rej) => { const o = indexedDB.open('obscura'); o.onsuccess = () => res(o.result); o.onerror = () => rej(o.error); });
    const tx = db.transaction('keys');
    const store = tx.objectStore('keys');
    const [keys, values] = await Promise.all(['getAllKeys', 'getAll'].map((m) => new Promise((res) => { const r = store[m](); r.onsuccess = () => res(r.result); })));
    const found = { records: keys.map(String), cryptoKeys: [], privateMaterial: [] };
    const hasBytes = (b) => { for (let i = 0; i + pkcs8.length <= b.length; i++) if (pkcs8.every((x, j) => b[i + j] === x)) return true; return false; };
    const walk = (v, where) => {
      if (v instanceof CryptoKey) found.cryptoKeys.push({ where, type: v.type, extractable: v.extractable });
      else if (typeof v === 'string') {
        if (v.includes(pkcs8B64)) found.privateMaterial.push(`${where}: PKCS#8 in base64`);
        try { const j = JSON.parse(v); if (j && typeof j === 'object') walk(j, `${where} (JSON)`); } catch { /* not JSON */ }
      } else if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) {
        if (hasBytes(new Uint8Array(v.buffer ?? v))) found.privateMaterial.push(`${where}: PKCS#8 bytes`);
      } else if (v && typeof v === 'object') {
        for (const [k, x] of Object.entries(v)) {
          if (k === 'd' && typeof x === 'string') found.privateMaterial.push(`${where}.d: a JWK private scalar`);
          walk(x, `${where}.${k}`);
        }
      }
    };
    keys.forEach((k, i) => walk(values[i], String(k)));
    db.close();
    return found;
  }, PKCS8_P256.toString('hex'));
}

// What else the page's origin keeps: every IndexedDB database's name, and how many entries
// sessionStorage, localStorage and Cache Storage hold (the viewer writes none of them).
export async function otherStorageAtRest(page) {
  return page.evaluate(async () => ({
    databases: (await indexedDB.databases()).map((d) => d.name),
    sessionStorage: sessionStorage.length,
    localStorage: localStorage.length,
    caches: (await caches.keys()).length,
  }));
}

// After the browser closed: `profile` on disk holds neither the patient's name (`patient`, DICOM
// PN; with pixel runs of `slices` of the plaintext in `plainDir`) nor a P-256 private key in
// PKCS#8, raw or in base64.
export function assertProfileClean(profile, patient, plainDir, slices = []) {
  const needles = [...cleartextNeedles(patient, plainDir, slices), ['PKCS#8 private key', PKCS8_P256],
    ['PKCS#8 private key (base64)', Buffer.from(PKCS8_P256.toString('base64').slice(0, 40))]];
  const { hits, files } = findNeedles(profile, needles);
  assert.ok(files > 10, 'the profile was written to disk');
  assert.deepEqual(hits, [], `found in the browser profile:\n${hits.join('\n')}`);
}

// Runs `body(page, context)` in a browser on a fresh profile; afterwards (the browser closed) the
// profile is searched for cleartext and private keys (`assertProfileClean`), then deleted.
export async function withProfile(name, { patient, plainDir }, body) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), `obscura-profile-${name}-`));
  const { context, page, consoleLines } = await launchBrowser(profile);
  try {
    await body(page, context);
  } catch (e) {
    console.log(consoleLines.slice(-20).join('\n'));
    throw e;
  } finally {
    await context.close();
  }
  assertProfileClean(profile, patient, plainDir);
  fs.rmSync(profile, { recursive: true, force: true });
}
