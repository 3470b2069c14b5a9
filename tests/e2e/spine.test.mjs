// The spine, end to end, in Debian's headless Chromium: a fresh profile protects its reader key
// with a passphrase and enrols, opens the sealed demo study, sees the right pixels, scrolls, changes
// W/L, meets a tampered object, and leaves no cleartext behind in the profile.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decodePng } from './png.mjs';
import { launchBrowser, slicePixels as slicePixelsIn, voiLinear, state, waitFor, readBack, compare, wheelTo, nonBlackFraction, walk, cleartextNeedles, findNeedles, unlockWithPassphrase } from './lib.mjs';

const slicePixels = (n) => slicePixelsIn(PLAIN, n);

const URL_ = process.env.OBSCURA_URL;
const STORE = process.env.OBSCURA_STORE;
const PLAIN = process.env.OBSCURA_PLAINTEXT;
const ARTIFACTS = process.env.OBSCURA_ARTIFACTS || fs.mkdtempSync(path.join(os.tmpdir(), 'obscura-artifacts-'));
const PATIENT = process.env.OBSCURA_PATIENT_NAME;
for (const [k, v] of Object.entries({ OBSCURA_URL: URL_, OBSCURA_STORE: STORE, OBSCURA_PLAINTEXT: PLAIN, OBSCURA_PATIENT_NAME: PATIENT }))
  assert.ok(v, `${k} must be set (run through \`cargo xtask test\`)`);

const [family, ...given] = PATIENT.split('^');

test('spine: enrol, open, verify pixels, scroll, W/L, tamper, no cleartext at rest', { timeout: 600000 }, async () => {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'obscura-profile-'));
  const { context, page, consoleLines } = await launchBrowser(profile);
  try {
    // 1. Fresh profile: key generation, enrolment, listing.
    await page.goto(URL_);
    await unlockWithPassphrase(page);
    let s = await waitFor(page, 'the study list', (s) => s.phase === 'list' && s.studies >= 1);
    console.log(`backend: ${s.backend}`);
    const listText = await page.textContent('#study-list');
    assert.ok(listText.includes(`${family}, ${given.join(' ')}`), `study list shows the decrypted patient name: "${listText}"`);
    assert.match(await page.textContent('#reader-fp'), /^\d{5}( \d{5}){11}$/, 'the reader fingerprint is shown');

    // The session's private keys are non-extractable CryptoKeys (unwrapped from the protected
    // record; tests/e2e/keys.test.mjs checks what is stored).
    const sessionKey = s.keys.session.reader;
    assert.deepEqual([sessionKey.type, sessionKey.extractable, sessionKey.algorithm], ['private', false, 'ECDH']);

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
    // corner text is written on the next animation frame
    await page.waitForFunction(() => /Im: 50\/\d+/.test(document.querySelector('.pane .corner.bl').textContent));
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
    // the corner shows the window drawn (written on the next animation frame)
    await page.waitForFunction(([c, w]) => {
      const m = /W: (-?[\d.]+) L: (-?[\d.]+)/.exec(document.querySelector('.pane .corner.br').textContent);
      return m && Math.abs(m[1] - w) <= 1 && Math.abs(m[2] - c) <= 1;
    }, [c1, w1]);
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
      await unlockWithPassphrase(page);
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
    // The reader keys are stored only wrapped (a JSON record; keys.test.mjs looks inside it), never as a CryptoKey.
    assert.equal(Object.fromEntries(storage.shape)['protected-reader'], 'string');
    assert.ok(!JSON.stringify(storage.shape).includes('CryptoKey'), `no CryptoKey is stored: ${JSON.stringify(storage.shape)}`);
    assert.equal(await page.title(), 'Obscura', 'no PHI in the title');
  } finally {
    fs.writeFileSync(path.join(ARTIFACTS, 'console.log'), consoleLines.join('\n'));
    await context.close();
  }

  // 7. The profile on disk: neither the patient's data nor a raw pixel run of a known slice.
  const { hits, files } = findNeedles(profile, cleartextNeedles(PATIENT, PLAIN));
  assert.ok(files > 10, 'the profile was written to disk');
  // Positive control: the scan does see what Chromium records (the visited URL lands in History).
  const host = Buffer.from(new URL(URL_).host);
  assert.ok([...walk(profile)].some((f) => fs.readFileSync(f).includes(host)), 'the profile scan finds the visited URL');
  assert.deepEqual(hits, [], `cleartext found in the browser profile:\n${hits.join('\n')}`);
  fs.rmSync(profile, { recursive: true, force: true });
});

test('the WebGL2 fallback renders the same pixels', { timeout: 300000 }, async () => {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'obscura-profile-gl-'));
  const { context, page } = await launchBrowser(profile, { viewport: { width: 900, height: 700 }, deviceScaleFactor: 2 });
  try {
    await page.goto(`${URL_}?gpu=webgl`);
    await unlockWithPassphrase(page);
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
