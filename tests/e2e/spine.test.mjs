// The spine, end to end, in Debian's headless Chromium: a fresh profile enrols, opens the sealed
// demo study, sees the right pixels, scrolls, changes W/L, meets a tampered object, and leaves no
// cleartext behind in the profile.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { decodePng } from './png.mjs';

const URL_ = process.env.OBSCURA_URL;
const STORE = process.env.OBSCURA_STORE;
const PLAIN = process.env.OBSCURA_PLAINTEXT;
const ARTIFACTS = process.env.OBSCURA_ARTIFACTS || fs.mkdtempSync(path.join(os.tmpdir(), 'obscura-artifacts-'));
const PATIENT = process.env.OBSCURA_PATIENT_NAME;
for (const [k, v] of Object.entries({ OBSCURA_URL: URL_, OBSCURA_STORE: STORE, OBSCURA_PLAINTEXT: PLAIN, OBSCURA_PATIENT_NAME: PATIENT }))
  assert.ok(v, `${k} must be set (run through \`cargo xtask test\`)`);

const GPU_ARGS = ['--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-vulkan=swiftshader',
  '--use-webgpu-adapter=swiftshader', '--use-angle=swiftshader', '--enable-unsafe-swiftshader'];
const QUIET_ARGS = ['--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
  '--disable-quic'];

// The synthetic CT: Explicit VR LE, Pixel Data last, 512x512 int16, rescale 1 / -1024.
function slicePixels(n) {
  const file = fs.readFileSync(path.join(PLAIN, `CT${String(n).padStart(4, '0')}.dcm`));
  const px = file.subarray(file.length - 512 * 512 * 2);
  return { raw: px, values: Int16Array.from({ length: 512 * 512 }, (_, i) => px.readInt16LE(i * 2)) };
}

// DICOM PS3.3 C.11.2.1.2.1 LINEAR VOI, written independently of the Rust/WGSL implementations.
function voiLinear(values, center, width, slope = 1, intercept = -1024) {
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

async function state(page) {
  return page.evaluate(() => window.obscura && window.obscura.state());
}

async function waitFor(page, what, pred, timeout = 60000) {
  const start = Date.now();
  let last;
  while (Date.now() - start < timeout) {
    last = await state(page).catch(() => undefined);
    if (last && pred(last)) return last;
    await page.waitForTimeout(100);
  }
  const status = await page.textContent('#status').catch(() => '?');
  throw new Error(`timed out waiting for ${what}; last state ${JSON.stringify(last)}; status "${status}"`);
}

async function readBack(page) {
  return page.evaluate(async () => {
    const r = await window.obscura.readBack();
    return r ? Array.from(r) : null;
  });
}

function compare(actual, expected, label) {
  assert.ok(actual, `${label}: nothing was read back`);
  assert.equal(actual.length, expected.length, `${label}: read-back size`);
  let worst = 0, bad = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (d > worst) worst = d;
    if (d > 1) bad++;
  }
  assert.equal(bad, 0, `${label}: ${bad} pixels differ from the CPU reference by more than 1 (worst ${worst})`);
  assert.ok(new Set(expected).size > 20, `${label}: the reference is too uniform to prove anything`);
}

async function wheelTo(page, target) {
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
function nonBlackFraction(png, margin = 2) {
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

function* walk(dir) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else if (e.isFile()) yield p;
  }
}

const [family, ...given] = PATIENT.split('^');

test('spine: enrol, open, verify pixels, scroll, W/L, tamper, no cleartext at rest', { timeout: 600000 }, async () => {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'obscura-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [...GPU_ARGS, ...QUIET_ARGS],
    viewport: { width: 1100, height: 800 },
    deviceScaleFactor: 1,
  });
  const page = context.pages()[0] || await context.newPage();
  const consoleLines = [];
  page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
  try {
    // 1. Fresh profile: key generation, enrolment, listing.
    await page.goto(URL_);
    let s = await waitFor(page, 'the study list', (s) => s.phase === 'list' && s.studies >= 1);
    console.log(`backend: ${s.backend}`);
    const listText = await page.textContent('#study-list');
    assert.ok(listText.includes(`${family}, ${given.join(' ')}`), `study list shows the decrypted patient name: "${listText}"`);
    assert.match(await page.textContent('#reader-fp'), /^\d{5}( \d{5}){11}$/, 'the reader fingerprint is shown');

    // The private key is a non-extractable CryptoKey.
    const keyCheck = await page.evaluate(async () => new Promise((resolve) => {
      const open = indexedDB.open('obscura');
      open.onsuccess = () => {
        const req = open.result.transaction('keys').objectStore('keys').get('reader');
        req.onsuccess = async () => {
          const k = req.result.privateKey;
          let exported = true;
          try { await crypto.subtle.exportKey('pkcs8', k); } catch { exported = false; }
          resolve({ type: k.type, extractable: k.extractable, algorithm: k.algorithm.name, exported });
        };
      };
    }));
    assert.deepEqual(keyCheck, { type: 'private', extractable: false, algorithm: 'ECDH', exported: false });

    // 2. Open the study: the first slice, pixel-exact against an independent CPU rendering.
    await page.click('button.study');
    s = await waitFor(page, 'the first slice', (s) => s.open && s.open.shown === 0);
    console.log(`time to first image: ${s.open.first_image_ms?.toFixed(0)} ms`);
    s = await waitFor(page, 'all slices', (s) => s.open.ready + s.open.failed.length === s.open.slices, 120000);
    assert.deepEqual(s.open.failed, [], 'no slice failed');
    const [c0, w0] = s.open.window;
    assert.deepEqual([c0, w0], [40, 400], 'the default window comes from the DICOM header');
    const first = slicePixels(1);
    compare(await readBack(page), voiLinear(first.values, c0, w0), 'slice 1');
    await page.screenshot({ path: path.join(ARTIFACTS, '01-first-slice.png') });
    const shot1 = decodePng(await page.locator('#canvas').screenshot());
    assert.ok(nonBlackFraction(shot1) > 0.1, 'the canvas shows the image');

    // 3. Wheel to slice 50.
    await wheelTo(page, 49);
    s = await waitFor(page, 'slice 50 shown', (s) => s.open.shown === 49);
    assert.match(await page.textContent('#corner-br'), /Im 50\/\d+/);
    const fifty = slicePixels(50);
    const rb50 = await readBack(page);
    compare(rb50, voiLinear(fifty.values, c0, w0), 'slice 50');
    assert.notDeepEqual(rb50, voiLinear(first.values, c0, w0), 'slice 50 differs from slice 1');
    await page.screenshot({ path: path.join(ARTIFACTS, '02-slice-50.png') });

    // 4. Left-drag changes window/level; the new window is what is drawn.
    const box = await page.locator('#canvas').boundingBox();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2 + 80, box.y + box.height / 2 + 30, { steps: 5 });
    await page.mouse.up();
    s = await state(page);
    const [c1, w1] = s.open.window;
    assert.ok(w1 > w0 && c1 > c0, `dragging right/down widened and raised the window: ${[c1, w1]}`);
    assert.match(await page.textContent('#corner-br'), new RegExp(`W ${Math.round(w1)} L ${Math.round(c1)}`));
    compare(await readBack(page), voiLinear(fifty.values, c1, w1), 'slice 50 after W/L drag');
    await page.screenshot({ path: path.join(ARTIFACTS, '03-window-level.png') });

    // 5. Flip one byte of one sealed object in the store: that slice shows an integrity error and no pixels.
    const tampered = 29;
    const url = new URL(await page.evaluate((i) => window.obscura.sealedUrlForSlice(i), tampered));
    const file = path.join(STORE, decodeURIComponent(url.pathname.replace(/^\/store\//, '')));
    const bytes = fs.readFileSync(file);
    const original = Buffer.from(bytes);
    bytes[Math.floor(bytes.length / 2)] ^= 0x01;
    fs.writeFileSync(file, bytes);
    try {
      await page.reload();
      await waitFor(page, 'the study list again', (s) => s.phase === 'list' && s.studies >= 1);
      await page.click('button.study');
      s = await waitFor(page, 'all slices after tampering', (s) => s.open && s.open.ready + s.open.failed.length === s.open.slices, 120000);
      assert.deepEqual(s.open.failed, [tampered], 'exactly the tampered slice fails');
      await wheelTo(page, tampered);
      s = await state(page);
      assert.equal(s.open.shown, null, 'nothing is shown for the tampered slice');
      assert.equal(await readBack(page), null);
      const err = await page.textContent('#error');
      assert.ok(await page.isVisible('#error'), 'the integrity error is visible');
      assert.match(err, /integrity/i);
      assert.match(err, new RegExp(`Slice ${tampered + 1} of`));
      await page.screenshot({ path: path.join(ARTIFACTS, '04-tampered-slice.png') });
      // The canvas alone (overlays hidden for the shot): black, not a pixel of the slice.
      await page.evaluate(() => document.querySelectorAll('.corner, #error').forEach((e) => { e.style.visibility = 'hidden'; }));
      const shotPng = await page.locator('#canvas').screenshot({ path: path.join(ARTIFACTS, '04b-tampered-canvas-only.png') });
      const shot = decodePng(shotPng);
      await page.evaluate(() => document.querySelectorAll('.corner, #error').forEach((e) => { e.style.visibility = ''; }));
      assert.equal(nonBlackFraction(shot), 0, 'the canvas is black for the tampered slice');
      // Neighbours still open.
      await wheelTo(page, tampered + 1);
      await waitFor(page, 'the next slice', (s) => s.open.shown === tampered + 1);
    } finally {
      fs.writeFileSync(file, original);
    }

    // 6. Nothing cleartext in browser storage, seen from the page.
    const storage = await page.evaluate(async () => {
      const dbs = (await indexedDB.databases()).map((d) => d.name);
      const records = await new Promise((resolve) => {
        const open = indexedDB.open('obscura');
        open.onsuccess = () => {
          const store = open.result.transaction('keys').objectStore('keys');
          const keys = store.getAllKeys(), vals = store.getAll();
          vals.onsuccess = () => resolve(keys.result.map((k, i) => [k, vals.result[i]]));
        };
      });
      const shape = records.map(([k, v]) => [k, v instanceof Object && !(typeof v === 'string')
        ? Object.fromEntries(Object.entries(v).map(([f, x]) => [f, x instanceof CryptoKey ? `CryptoKey(${x.type},extractable=${x.extractable})` : (x instanceof Uint8Array ? `bytes(${x.length})` : typeof x)]))
        : typeof v]);
      return {
        dbs, shape, text: JSON.stringify(records.map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)])),
        local: localStorage.length, session: sessionStorage.length, caches: (await caches.keys()).length,
      };
    });
    assert.deepEqual(storage.dbs, ['obscura']);
    assert.equal(storage.local, 0);
    assert.equal(storage.session, 0);
    assert.equal(storage.caches, 0);
    assert.ok(!storage.text.includes(family), 'no patient name in IndexedDB');
    const reader = Object.fromEntries(storage.shape)['reader'];
    assert.equal(reader.privateKey, 'CryptoKey(private,extractable=false)');
    assert.equal(await page.title(), 'Obscura', 'no PHI in the title');
  } finally {
    fs.writeFileSync(path.join(ARTIFACTS, 'console.log'), consoleLines.join('\n'));
    await context.close();
  }

  // 7. The profile on disk: neither the patient's data nor a raw pixel run of a known slice.
  const needles = [];
  for (const text of [PATIENT, PATIENT.replaceAll('^', ' '), `${family}, ${given.join(' ')}`]) {
    needles.push([text, Buffer.from(text, 'utf8')], [`${text} (UTF-16)`, Buffer.from(text, 'utf16le')]);
  }
  const { raw } = slicePixels(10);
  let runAt = -1;
  for (let off = 256 * 1024; off < raw.length - 64; off += 2) {
    const run = raw.subarray(off, off + 64);
    if (new Set(run).size > 24) { runAt = off; break; }
  }
  assert.ok(runAt >= 0, 'found a varied pixel run in slice 10');
  needles.push(['pixel run of slice 10', raw.subarray(runAt, runAt + 64)]);
  const hits = [];
  let files = 0;
  for (const f of walk(profile)) {
    files++;
    const data = fs.readFileSync(f);
    for (const [name, needle] of needles) if (data.includes(needle)) hits.push(`${name} in ${path.relative(profile, f)}`);
  }
  assert.ok(files > 10, 'the profile was written to disk');
  // Positive control: the scan does see what Chromium records (the visited URL lands in History).
  const host = Buffer.from(new URL(URL_).host);
  assert.ok([...walk(profile)].some((f) => fs.readFileSync(f).includes(host)), 'the profile scan finds the visited URL');
  assert.deepEqual(hits, [], `cleartext found in the browser profile:\n${hits.join('\n')}`);
  fs.rmSync(profile, { recursive: true, force: true });
});

test('the WebGL2 fallback renders the same pixels', { timeout: 300000 }, async () => {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'obscura-profile-gl-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium', headless: true, args: [...GPU_ARGS, ...QUIET_ARGS],
    viewport: { width: 900, height: 700 }, deviceScaleFactor: 2,
  });
  try {
    const page = context.pages()[0] || await context.newPage();
    await page.goto(`${URL_}?gpu=webgl`);
    let s = await waitFor(page, 'the study list', (s) => s.phase === 'list' && s.studies >= 1);
    assert.equal(s.backend, 'webgl2');
    await page.click('button.study');
    s = await waitFor(page, 'slice 1', (s) => s.open && s.open.shown === 0);
    const [c, w] = s.open.window;
    compare(await readBack(page), voiLinear(slicePixels(1).values, c, w), 'slice 1 on WebGL2');
    await wheelTo(page, 5);
    await waitFor(page, 'slice 6', (s) => s.open.shown === 5);
    compare(await readBack(page), voiLinear(slicePixels(6).values, c, w), 'slice 6 on WebGL2');
    // The drawing buffer follows the device pixel ratio (2 here), so the image is crisp.
    const size = await page.evaluate(() => {
      const c = document.getElementById('canvas'), r = c.getBoundingClientRect();
      return { w: c.width, h: c.height, cssW: r.width, cssH: r.height, dpr: devicePixelRatio };
    });
    assert.equal(size.dpr, 2);
    assert.equal(size.w, Math.round(size.cssW * 2), JSON.stringify(size));
    assert.equal(size.h, Math.round(size.cssH * 2), JSON.stringify(size));
    await page.screenshot({ path: path.join(ARTIFACTS, '05-webgl2.png') });
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
});
