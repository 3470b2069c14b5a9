// Share links end to end in Debian's headless Chromium (run by `cargo xtask test` or
// `cargo xtask test share`): the administrator makes links with `obscura share` (plain, with a
// passcode, short-lived), and a referring physician's fresh browser opens them against
// `obscura serve` (not in demo mode, its request log on). Checked: the read-only room of the one
// study with the right pixels, the fragment gone from the address bar and the history, nothing in
// IndexedDB, the passcode gate (attempts left, locking), expiry, revocation during a session and
// after, a tablet, and that no form of any link secret reached the server — neither in the
// server's request log nor in any request Chromium made — nor the patient's name the profile.
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launchBrowser, slicePixels, voiLinear, state, waitFor, readBack, compare, requireEnv, cleartextNeedles, findNeedles, touchGestures } from './lib.mjs';

const env = (k) => requireEnv(k, 'cargo xtask test share');
const URL_ = env('OBSCURA_URL');
const BIN = env('OBSCURA_BIN');
const KEYS = env('OBSCURA_KEYS');
const STORE = env('OBSCURA_STORE');
const PLAIN = env('OBSCURA_PLAINTEXT');
const PATIENT = env('OBSCURA_PATIENT_NAME');
const REQUEST_LOG = env('OBSCURA_REQUEST_LOG');
const ARTIFACTS = env('OBSCURA_ARTIFACTS');
const shot = (page, name) => page.screenshot({ path: path.join(ARTIFACTS, `share-${name}.png`) });

// The one study in the store (its pseudonymous UID, from the static tree's study index).
const STUDY = JSON.parse(fs.readFileSync(path.join(STORE, 'studies/index.json')))[0]['0020000D'].Value[0];
const RIGHT = 'blue heron 7';

// `obscura share`: returns { url, fragment, linkId, secret } (secret: the base64url part).
const links = [];
function share({ expires = '1h', passcode = null } = {}) {
  const args = ['share', '--keys', KEYS, '--store', STORE, '--study', STUDY, '--expires', expires, '--viewer-url', URL_];
  if (passcode) {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'obscura-code-')), 'code.txt');
    fs.writeFileSync(file, `${passcode}\n`);
    args.push('--passcode-file', file);
  }
  const out = execFileSync(BIN, args, { encoding: 'utf8' });
  const url = out.split('\n').find((l) => l.startsWith(`${URL_}#share=1~`));
  assert.ok(url, `obscura share printed a link: ${out}`);
  const fragment = url.slice(url.indexOf('#') + 1);
  const [, linkId, secret] = fragment.split('~');
  const link = { url, fragment, linkId, secret };
  links.push(link);
  return link;
}
const revoke = (link) => execFileSync(BIN, ['share', '--keys', KEYS, '--store', STORE, '--study', STUDY, '--revoke', link.linkId]);

// Every request Chromium makes: URL, headers, body.
function recordRequests(page, into) {
  page.on('request', async (r) => {
    into.push({ url: r.url(), headers: await r.allHeaders().catch(() => r.headers()), body: r.postData() || '' });
  });
}

const share_ = (s) => s && s.share;
const problem = (page, kind) => waitFor(page, `the "${kind}" message`, (s) => share_(s) && share_(s).problem === kind && share_(s).state === 'ended', 120000);

async function enterPasscode(page, code) {
  await waitFor(page, 'the passcode prompt', (s) => share_(s) && share_(s).state === 'passcode', 120000);
  await page.fill('#share-passcode-input', code);
  await page.click('#share-passcode button[type=submit]');
}

// Opens a link in a fresh tab of `context`; returns the page.
async function openLink(context, link, requests, query = '') {
  const page = await context.newPage();
  recordRequests(page, requests);
  await page.goto(`${URL_}${query}#${link.fragment}`);
  return page;
}

const requests = [];
let desktopProfile;

test('share links: plain, passcode, lock, expiry, revocation, no trace of the secret', { timeout: 900000 }, async () => {
  const plain = share();
  const expired = share({ expires: '1s' });
  const coded = share({ passcode: RIGHT });
  const locked = share({ passcode: RIGHT });
  const revoked = share();

  desktopProfile = fs.mkdtempSync(path.join(os.tmpdir(), 'obscura-share-profile-'));
  const { context, page: first, consoleLines } = await launchBrowser(desktopProfile);
  try {
    // 1. A plain link opens the one study, read-only, with the right pixels.
    recordRequests(first, requests);
    await first.goto(plain.url);
    let s = await waitFor(first, 'the first slice', (s) => s.open && s.open.shown === 0, 120000);
    assert.equal(s.share.state, 'open');
    assert.equal(s.studies, 0, 'no study list');
    assert.ok(await first.isHidden('#studies'), 'the study list is hidden');
    assert.ok(await first.isHidden('#back'), 'no way back to a list');
    assert.ok(await first.isHidden('#reader-fp-box'), 'no reader key');
    assert.equal(s.open.room.series.length, 1, 'one series, no priors');
    assert.match(await first.textContent('#status'), /^Shared with you, read only, until \d{4}-\d\d-\d\d \d\d:\d\d UTC/, 'the page says what it is');
    const [c, w] = s.open.window;
    compare(await readBack(first), voiLinear(slicePixels(PLAIN, 1).values, c, w), 'shared slice 1');
    await shot(first, '01-plain');
    // The fragment left the address bar and the history before anything was fetched.
    assert.ok(!first.url().includes('#'), `no fragment in the address: ${first.url()}`);
    assert.equal(await first.evaluate(() => location.hash), '');
    const cdp = await context.newCDPSession(first);
    const { entries } = await cdp.send('Page.getNavigationHistory');
    for (const e of entries) assert.ok(!e.url.includes('#') && !e.url.includes(plain.secret), `history entry ${e.url}`);
    // Nothing went into IndexedDB (no key, no enrolment, no version record).
    assert.deepEqual(await first.evaluate(async () => (await indexedDB.databases()).map((d) => d.name)), []);
    await first.close();

    // 2. Passcode: a wrong one says how many attempts are left; the right one opens.
    let page = await openLink(context, coded, requests);
    await enterPasscode(page, 'blue heron 8');
    s = await waitFor(page, 'the wrong-passcode message', (s) => share_(s).problem === 'wrong-passcode' && share_(s).state === 'passcode', 120000);
    assert.equal(s.share.attemptsLeft, 4);
    assert.match(await page.textContent('#share'), /Wrong passcode[\s\S]*4 attempts left/);
    await shot(page, '02-wrong-passcode');
    await enterPasscode(page, RIGHT);
    s = await waitFor(page, 'the first slice after the passcode', (s) => s.open && s.open.shown === 0, 120000);
    compare(await readBack(page), voiLinear(slicePixels(PLAIN, 1).values, ...s.open.window), 'slice 1 through a passcode link');
    assert.equal(await page.inputValue('#share-passcode-input'), '', 'the passcode field is emptied');
    await page.close();

    // 3. Five wrong passcodes lock the link for good: the right one no longer opens it.
    page = await openLink(context, locked, requests);
    for (let k = 4; k >= 1; k--) {
      await enterPasscode(page, `wrong ${k}`);
      await waitFor(page, `${k} attempts left`, (s) => share_(s).attemptsLeft === k && share_(s).state === 'passcode', 120000);
    }
    await enterPasscode(page, 'wrong 0');
    await problem(page, 'locked');
    assert.match(await page.textContent('#share'), /locked[\s\S]*new link/);
    await shot(page, '03-locked');
    await page.close();
    page = await openLink(context, locked, requests);
    await enterPasscode(page, RIGHT);
    await problem(page, 'locked');
    assert.equal((await state(page)).open, null, 'nothing opened');
    await page.close();

    // 4. An expired link (1 s, long past by now).
    page = await openLink(context, expired, requests);
    await problem(page, 'expired');
    assert.match(await page.textContent('#share'), /expired/);
    await shot(page, '04-expired');
    await page.close();

    // 5. Revoked while open: the next fetch refuses and the study closes; a fresh open says revoked.
    // A small cleartext budget, so that scrolling away needs more fetches.
    page = await openLink(context, revoked, requests, '?budget=16');
    s = await waitFor(page, 'the revocable study', (s) => s.open && s.open.shown === 0, 120000);
    revoke(revoked);
    // Scroll on until a fetch happens (the first slices may still be loading: then one is next).
    for (let guard = 0; guard < 200; guard++) {
      s = await state(page);
      if (s.share.state === 'ended') break;
      const box = await page.locator('#canvas').boundingBox();
      if (!box) continue;
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      await page.mouse.wheel(0, 100);
      await page.waitForTimeout(20);
    }
    s = await problem(page, 'revoked');
    assert.equal(s.open, null, 'the study is closed (keys dropped, slices zeroised)');
    assert.ok(await page.isHidden('#viewer'));
    assert.match(await page.textContent('#share'), /no longer works/);
    await shot(page, '05-revoked-while-open');
    await page.close();
    page = await openLink(context, revoked, requests);
    await problem(page, 'revoked');
    await page.close();

    // 6. A damaged link.
    page = await openLink(context, { fragment: plain.fragment.slice(0, 30) }, requests);
    await problem(page, 'malformed');
    assert.match(await page.textContent('#share'), /incomplete or damaged/);
    await page.close();
  } finally {
    fs.writeFileSync(path.join(ARTIFACTS, 'share-console.log'), consoleLines.join('\n'));
    await context.close();
  }
});

// A referring physician opens the link on whatever they have: a tablet, or a phone.
for (const device of [
  { name: 'tablet', viewport: { width: 768, height: 1024 }, deviceScaleFactor: 2 },
  { name: 'phone', viewport: { width: 390, height: 844 }, deviceScaleFactor: 3 },
]) {
  test(`share link on a ${device.name} (${device.viewport.width}×${device.viewport.height}, touch): it opens, and a swipe scrolls`, { timeout: 300000 }, async () => {
    const link = share();
    const profile = fs.mkdtempSync(path.join(os.tmpdir(), `obscura-share-${device.name}-`));
    const { context, page, consoleLines } = await launchBrowser(profile, {
      viewport: device.viewport, deviceScaleFactor: device.deviceScaleFactor, touch: true,
    });
    try {
      recordRequests(page, requests);
      await page.goto(link.url);
      let s = await waitFor(page, `the first slice on the ${device.name}`, (s) => s.open && s.open.shown === 0, 120000);
      compare(await readBack(page), voiLinear(slicePixels(PLAIN, 1).values, ...s.open.window), `${device.name} slice 1`);
      const canvas = await page.locator('#canvas').boundingBox();
      assert.ok(canvas.width >= device.viewport.width * 0.9 && canvas.height >= device.viewport.height * 0.4,
        `the image area takes the screen's width and a good part of its height: ${JSON.stringify(canvas)}`);
      const { overflow, wide } = await page.evaluate(() => ({
        overflow: document.documentElement.scrollWidth - window.innerWidth,
        // the outermost elements wider than the screen (what to fix when this fails)
        wide: [...document.querySelectorAll('body *')]
          .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1 && !(e.parentElement.getBoundingClientRect().right > window.innerWidth + 1))
          .map((e) => `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}.${e.className}`).slice(0, 5),
      }));
      assert.ok(overflow <= 0, `nothing sticks out sideways (${overflow} px: ${wide})`);
      await shot(page, `06-${device.name}`);
      // one-finger swipe down: forward through the stack
      const g = await touchGestures(page);
      const pane = await page.locator('.pane[data-pane="0"]').boundingBox();
      await g.swipe([pane.x + pane.width / 2, pane.y + pane.height / 2 - 60], 120, { steps: 10 });
      s = await waitFor(page, 'the swipe scrolls', (s) => s.open.room.panes[0].slice >= 3);
      assert.ok(!consoleLines.some((l) => l.startsWith('pageerror')), `no page error: ${consoleLines.filter((l) => l.startsWith('pageerror'))}`);
    } finally {
      fs.writeFileSync(path.join(ARTIFACTS, `share-${device.name}-console.log`), consoleLines.join('\n'));
      await context.close();
    }
    // no cleartext in this profile either
    const { hits, files } = findNeedles(profile, cleartextNeedles(PATIENT, PLAIN, [10]));
    assert.ok(files > 0);
    assert.deepEqual(hits, [], `no cleartext in the ${device.name} profile`);
  });
}

test('no form of any link secret or passcode reached the server or left the page; no cleartext in the profile', () => {
  assert.ok(links.length >= 6);
  const needles = [];
  for (const l of links) {
    const bytes = Buffer.from(l.secret, 'base64url');
    assert.equal(bytes.length, 32);
    needles.push(l.fragment, l.secret, bytes.toString('base64'), bytes.toString('base64').replace(/=+$/, ''), bytes.toString('hex'),
      bytes.toString('hex').toUpperCase(), encodeURIComponent(bytes.toString('base64')));
  }
  // nor any passcode typed (only its verifier goes to the gate)
  for (const code of [RIGHT, 'blue heron 8', 'wrong 1']) needles.push(code, encodeURIComponent(code), Buffer.from(code).toString('base64'));
  const log = fs.readFileSync(REQUEST_LOG, 'utf8');
  const logged = log.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  assert.ok(logged.some((r) => r.method === 'POST' && /\/api\/share\/[0-9a-f]{32}\/gate$/.test(r.uri)), 'the log holds the gate requests');
  assert.ok(logged.some((r) => r.uri.startsWith('/store/')), 'the log holds the store requests');
  assert.ok(requests.length > 50, `Playwright saw the requests (${requests.length})`);
  const seen = [log, ...requests.map((r) => `${r.url}\n${JSON.stringify(r.headers)}\n${r.body}`)].join('\n');
  for (const n of needles) assert.ok(!seen.includes(n), `a link secret or passcode (${n.slice(0, 6)}…) appears in a request`);
  for (const r of requests) assert.ok(!r.url.includes('#'), `no fragment in a request URL: ${r.url}`);

  const { hits, files } = findNeedles(desktopProfile, cleartextNeedles(PATIENT, PLAIN, [10]));
  assert.ok(files > 0, 'the profile has files');
  assert.deepEqual(hits, [], 'no cleartext in the browser profile');
});
