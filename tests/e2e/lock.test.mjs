// Locking and trust in Debian's headless Chromium (crates/viewer/src/lock.rs, trust.rs, device.rs):
// the idle lock, the Lock and Log out buttons (the page holds no study key, no decoded image, no
// cleartext cache, no GPU image, no reader key and no PHI in the DOM afterwards; the second factor
// opens it again), the idle lock of a share link, an organisation key that changed (refused), a
// certificate that changed (the reader must confirm it) or expired, and a lost device: a new device enrolled
// and given the studies by escrow re-wrap, the old one revoked and told so. After each test the
// profile on disk holds neither the patient's name nor a private key in clear, and the origin's
// storage only the key store.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  launchBrowser, waitFor, requireEnv, unlockWithPassphrase, indexedDbAtRest, otherStorageAtRest, assertProfileClean, withProfile as withProfileOf,
  nonBlackFraction,
} from './lib.mjs';
import { decodePng } from './png.mjs';

const env = (k) => requireEnv(k, 'cargo xtask test');
const DEMO_URL = env('OBSCURA_URL'); // `obscura serve --demo`
const ADMIN_URL = env('OBSCURA_ADMIN_URL'); // the same store, without demo enrolment
const BIN = env('OBSCURA_BIN');
const KEYS = env('OBSCURA_KEYS');
const STORE = env('OBSCURA_STORE');
const PLAIN = env('OBSCURA_PLAINTEXT');
const PATIENT = env('OBSCURA_PATIENT_NAME');
const ARTIFACTS = env('OBSCURA_ARTIFACTS');
const [family, ...given] = PATIENT.split('^');
const SHOWN_NAME = `${family}, ${given.join(' ')}`;
// Short enough for a test, long enough that opening a study never takes longer.
const IDLE = 6;
const withIdle = (url) => { const u = new URL(url); u.searchParams.set('idle', String(IDLE)); return u.href; };

// waitFor, with the reader present: the mouse moves at each look, so that a slow machine's loading
// time never counts as idle (only the waits for a lock stay still).
async function waitPresent(page, what, pred) {
  let n = 0;
  return waitFor(page, what, (s) => {
    page.mouse.move(10 + (n++ % 2), 10).catch(() => {});
    return pred(s);
  }, 120000);
}

async function list(page, what) {
  return waitPresent(page, `${what}: the study list`, (s) => s.phase === 'list');
}

async function open(page, what) {
  await waitPresent(page, `${what}: the study list`, (s) => s.phase === 'list' && s.studies >= 1);
  assert.ok((await page.textContent('#study-list')).includes(SHOWN_NAME), `${what}: the list shows the patient`);
  await page.click('button.study');
  return waitPresent(page, `${what}: the first slice`, (s) => s.open && s.open.shown === 0 && s.decoded > 0);
}

// Everything a lock takes away, checked from the page (and the canvas read back as pixels).
async function assertLocked(page, why, locks) {
  const s = await waitFor(page, `locked (${why})`, (s) => s.lock.locks === locks && s.phase === 'locked'
    && s.keys.phase === 'locked' && s.studyKeys === 0 && s.decoded === 0, 60000);
  assert.equal(s.lock.why, why);
  assert.equal(s.open, null, 'no study open');
  assert.equal(s.cacheBytes, 0, 'no cleartext cached');
  assert.equal(s.studies, 0, 'no study index kept');
  assert.equal(s.readerKey, false, 'the app holds no reader key');
  assert.equal(s.keys.session, null, 'no unwrapped private key is referenced');
  assert.equal(s.gpuImages, 0, 'no pane holds a texture');
  assert.equal(s.canvasBlank, true, 'an empty frame was presented');
  for (const id of ['study-list', 'thumbnails', 'panes']) {
    assert.equal(await page.evaluate((id) => document.getElementById(id).innerHTML, id), '', `#${id} is empty`);
  }
  assert.ok(!(await page.evaluate(() => document.body.innerText)).includes(family), 'no PHI in the page text');
  assert.ok(await page.isVisible('#unlock-passphrase'), 'the unlock screen asks for the passphrase');
  assert.ok(await page.isVisible('#lock-reason'));
  // The canvas itself, shown again for a moment: only the background.
  await page.evaluate(() => { document.getElementById('viewer').hidden = false; });
  const shot = decodePng(await page.locator('#canvas').screenshot());
  await page.evaluate(() => { document.getElementById('viewer').hidden = true; });
  assert.equal(nonBlackFraction(shot), 0, 'the canvas shows nothing of the image');
  return s;
}

async function assertStorageClean(page) {
  const atRest = await indexedDbAtRest(page);
  assert.deepEqual(atRest.cryptoKeys, [], 'no CryptoKey is stored');
  assert.deepEqual(atRest.privateMaterial, [], 'no private key material in clear');
  const others = await otherStorageAtRest(page);
  assert.deepEqual(others, { databases: ['obscura'], sessionStorage: 0, localStorage: 0, caches: 0 });
  return atRest;
}

// `withProfile` (lib.mjs) with this test's patient and plaintext.
const withProfile = (name, body) => withProfileOf(name, { patient: PATIENT, plainDir: PLAIN }, body);

test('idle lock, Lock and Log out drop every key and all cleartext; the passphrase opens it again', { timeout: 300000 }, async () => {
  await withProfile('lock', async (page) => {
    await page.goto(withIdle(DEMO_URL));
    await unlockWithPassphrase(page);
    let s = await open(page, 'after enrolment');
    assert.equal(s.lock.timeout, IDLE, 'the reader shortened the administrator\'s 15 minutes');
    assert.ok(s.studyKeys > 0 && s.readerKey && s.gpuImages > 0);
    // positive control of the canvas check below: the open study is on the canvas
    assert.ok(nonBlackFraction(decodePng(await page.locator('#canvas').screenshot())) > 0.1, 'the slice is drawn');
    // cine playing is not activity
    await page.keyboard.press('c');
    // No input: the viewer locks by itself.
    await assertLocked(page, 'idle', 1);
    await page.screenshot({ path: path.join(ARTIFACTS, 'lock-01-idle.png') });
    await unlockWithPassphrase(page);
    await open(page, 'after the idle lock');

    // The Lock button.
    await page.click('#lock');
    await assertLocked(page, 'manual', 2);
    await unlockWithPassphrase(page);
    s = await open(page, 'after Lock');

    // Log out also forgets the image store's credentials.
    await page.evaluate(() => { document.getElementById('auth').hidden = false; });
    await page.fill('#auth-secret', 'a-store-token');
    await page.click('#auth button[type=submit]');
    s = await waitFor(page, 'credentials held', (s) => s.storeCredentials);
    await page.click('#logout');
    s = await assertLocked(page, 'logout', 3);
    assert.equal(s.storeCredentials, false, 'the credentials are forgotten');
    await unlockWithPassphrase(page);
    await open(page, 'after Log out');
    await assertStorageClean(page);
  });
});

test('a share link closes after the idle timeout and says to open the link again', { timeout: 300000 }, async () => {
  const study = JSON.parse(fs.readFileSync(path.join(STORE, 'studies/index.json')))[0]['0020000D'].Value[0];
  const out = execFileSync(BIN, ['share', '--keys', KEYS, '--store', STORE, '--study', study, '--expires', '1h',
    '--viewer-url', DEMO_URL], { encoding: 'utf8' });
  const url = out.split('\n').find((l) => l.startsWith(`${DEMO_URL}#share=1~`));
  assert.ok(url, out);
  await withProfile('share-idle', async (page) => {
    await page.goto(withIdle(DEMO_URL) + url.slice(url.indexOf('#')));
    await waitPresent(page, 'the shared study', (s) => s.share && s.share.state === 'open' && s.decoded > 0);
    const s = await waitFor(page, 'closed after the idle timeout', (s) => s.share.problem === 'idle'
      && s.studyKeys === 0 && s.decoded === 0, 60000);
    assert.equal(s.open, null);
    assert.equal(s.gpuImages, 0);
    assert.match(await page.textContent('#share'), /closed[\s\S]*open the link again/);
    assert.equal(await page.evaluate(() => document.getElementById('panes').innerHTML), '');
    assert.ok(!(await page.evaluate(() => document.body.innerText)).includes(family));
    const others = await otherStorageAtRest(page);
    assert.deepEqual([others.sessionStorage, others.localStorage, others.caches], [0, 0, 0]);
  });
});

// A P-256 public key no organisation of this test has: what a substituted config.json names.
function foreignOrgKey() {
  const { publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const jwk = publicKey.export({ format: 'jwk' });
  return Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url')]).toString('base64');
}

async function storedRecord(page, key) {
  return page.evaluate((key) => new Promise((res) => {
    const o = indexedDB.open('obscura');
    o.onsuccess = () => { const r = o.result.transaction('keys').objectStore('keys').get(key); r.onsuccess = () => { o.result.close(); res(r.result); }; };
  }), key);
}

test('another organisation key in config.json is refused; re-enrolling needs the second factor', { timeout: 300000 }, async () => {
  await withProfile('org', async (page) => {
    await page.goto(DEMO_URL);
    await unlockWithPassphrase(page);
    await list(page, 'enrolled');
    const pinned = await storedRecord(page, 'organisation');
    assert.ok(pinned, 'the organisation key is pinned at enrolment');

    const other = foreignOrgKey();
    await page.route('**/config.json', async (route) => {
      const config = await (await route.fetch()).json();
      await route.fulfill({ json: { ...config, org_public_key: other } });
    });
    await page.reload();
    let s = await waitFor(page, 'the refusal', (s) => s.phase === 'org-changed');
    assert.equal(s.keys.session, null, 'nothing unlocked');
    const text = await page.textContent('#org-changed');
    assert.match(text, /attack/);
    assert.match(text, /Call your administrator/);
    assert.ok(!(await page.isVisible('#studies')), 'no study list');
    await page.screenshot({ path: path.join(ARTIFACTS, 'lock-02-org-changed.png') });
    // Re-enrolling asks for the second factor before anything changes.
    await page.click('#org-re-enrol');
    s = await waitFor(page, 'the unlock screen', (s) => s.phase === 'locked');
    assert.equal(await storedRecord(page, 'organisation'), pinned, 'the pin is unchanged until the factor is given');
    await unlockWithPassphrase(page);
    // The demo server certifies under the real organisation: not chained to the new anchor, refused.
    s = await waitFor(page, 'the certificate refused', (s) => s.phase === 'error');
    assert.match(await page.textContent('#status'), /certificate is refused/);
    assert.equal(await storedRecord(page, 'organisation'), other, 'the new organisation is pinned');
    await page.unroute('**/config.json');
    // Back to the real one: now that is the other key, refused the same way.
    await page.reload();
    await waitFor(page, 'the refusal of the former key', (s) => s.phase === 'org-changed');
    await assertStorageClean(page);
  });
});

// An administrator's enrolment of the page's key: returns the certificate file.
async function enrolByAdmin(page, work, name, extra = []) {
  await waitFor(page, `${name}: the enrolment request`, (s) => s.phase === 'not-enrolled', 120000);
  const request = path.join(work, `${name}.request.json`);
  fs.writeFileSync(request, await page.inputValue('#enrolment-request'));
  const cert = path.join(work, `${name}.cert.json`);
  execFileSync(BIN, ['reader', 'certify', '--keys', KEYS, request, '--fingerprint', await page.textContent('#enrol-fp'),
    '--out', cert, ...extra], { encoding: 'utf8' });
  return { request, cert };
}

test('a certificate that changes for the same key needs the reader\'s confirmation; an expired one asks for renewal', { timeout: 300000 }, async () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'obscura-cert-'));
  await withProfile('cert', async (page) => {
    await page.goto(ADMIN_URL);
    await unlockWithPassphrase(page);
    const { request, cert } = await enrolByAdmin(page, work, 'reader');
    await page.fill('#certificate', fs.readFileSync(cert, 'utf8'));
    await page.click('#certificate-form button[type=submit]');
    await list(page, 'enrolled');
    const first = JSON.parse(await storedRecord(page, 'certificate'));
    // The administrator issues another certificate for the same key: another name, another validity.
    const changed = path.join(work, 'changed.cert.json');
    execFileSync(BIN, ['reader', 'certify', '--keys', KEYS, request, '--subject', 'Someone Else', '--days', '30',
      '--out', changed], { encoding: 'utf8' });
    await page.click('#device-help-toggle');
    await page.fill('#install-certificate', fs.readFileSync(changed, 'utf8'));
    await page.click('#install-certificate-form button[type=submit]');
    let s = await waitFor(page, 'the change flagged', (s) => s.phase === 'certificate-changed');
    const what = await page.textContent('#cert-change-what');
    assert.match(what, /name: "Reader" → "Someone Else"/);
    assert.match(what, /valid: /);
    await page.screenshot({ path: path.join(ARTIFACTS, 'lock-03-certificate-changed.png') });
    await page.click('#cert-reject');
    await page.waitForFunction(() => /Refused: you refused the new certificate/.test(document.getElementById('device-error').textContent));
    assert.deepEqual(JSON.parse(await storedRecord(page, 'certificate')), first, 'the stored certificate stays');
    // Confirmed, it is kept.
    await page.fill('#install-certificate', fs.readFileSync(changed, 'utf8'));
    await page.click('#install-certificate-form button[type=submit]');
    s = await waitFor(page, 'the change flagged again', (s) => s.phase === 'certificate-changed');
    await page.click('#cert-accept');
    await list(page, 'after accepting');
    assert.equal(JSON.parse(await storedRecord(page, 'certificate')).subject, 'Someone Else');
    await assertStorageClean(page);
    // 40 days later (the page's clock), the 30-day certificate has expired: the viewer says so.
    await page.clock.install({ time: Date.now() + 40 * 86400 * 1000 });
    await page.reload();
    await unlockWithPassphrase(page);
    await waitFor(page, 'the expired certificate', (s) => s.phase === 'not-enrolled');
    assert.match(await page.textContent('#enrol-error'), /expired on .*ask your administrator to renew it/);
  });
  fs.rmSync(work, { recursive: true, force: true });
});

test('lost device: a new device gets the studies by escrow re-wrap; the old one, revoked, is told', { timeout: 400000 }, async () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'obscura-lost-'));
  const profileA = fs.mkdtempSync(path.join(os.tmpdir(), 'obscura-profile-device-a-'));
  let a = await launchBrowser(profileA);
  let certA;
  try {
    // Device A: enrolled by the administrator, opens the study.
    await a.page.goto(ADMIN_URL);
    await unlockWithPassphrase(a.page);
    ({ cert: certA } = await enrolByAdmin(a.page, work, 'device-a'));
    execFileSync(BIN, ['rewrap', '--keys', KEYS, '--store', STORE, '--reader', certA, '--all'], { encoding: 'utf8' });
    await a.page.fill('#certificate', fs.readFileSync(certA, 'utf8'));
    await a.page.click('#certificate-form button[type=submit]');
    await open(a.page, 'device A');
    await a.page.click('#back');
  } finally {
    await a.context.close();
  }

  // Device B (A is lost): enrolled the same way; escrow re-wraps the studies to it.
  await withProfile('device-b', async (page) => {
    await page.goto(ADMIN_URL);
    await unlockWithPassphrase(page);
    await page.click('#device-help-toggle');
    assert.match(await page.textContent('#device-help'), /lost or stolen device[\s\S]*obscura revoke/);
    await page.click('#device-help-toggle');
    const { cert } = await enrolByAdmin(page, work, 'device-b');
    await waitFor(page, 'B not enrolled yet', (s) => s.phase === 'not-enrolled');
    execFileSync(BIN, ['rewrap', '--keys', KEYS, '--store', STORE, '--reader', cert, '--all'], { encoding: 'utf8' });
    await page.fill('#certificate', fs.readFileSync(cert, 'utf8'));
    await page.click('#certificate-form button[type=submit]');
    await open(page, 'device B');
  });

  // The administrator revokes A: A is told it no longer has access.
  execFileSync(BIN, ['revoke', '--keys', KEYS, '--store', STORE, '--reader', certA, '--all'], { encoding: 'utf8' });
  a = await launchBrowser(profileA);
  try {
    await a.page.goto(ADMIN_URL);
    await unlockWithPassphrase(a.page);
    const s = await list(a.page, 'device A after the revocation');
    assert.equal(s.studies, 0, 'A lists nothing');
    assert.match(s.message, /no longer has access[\s\S]*revoked/);
    assert.match(await a.page.textContent('#status'), /no longer has access/);
    await a.page.screenshot({ path: path.join(ARTIFACTS, 'lock-04-revoked.png') });
    await assertStorageClean(a.page);
  } finally {
    await a.context.close();
  }
  assertProfileClean(profileA, PATIENT, PLAIN);
  fs.rmSync(profileA, { recursive: true, force: true });
  fs.rmSync(work, { recursive: true, force: true });
});

test('rotation: "Replace this browser\'s key" keeps the old key until the new one is certified', { timeout: 300000 }, async () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'obscura-rotate-'));
  await withProfile('rotate', async (page) => {
    await page.goto(ADMIN_URL);
    await unlockWithPassphrase(page);
    const { cert: oldCert } = await enrolByAdmin(page, work, 'old');
    execFileSync(BIN, ['rewrap', '--keys', KEYS, '--store', STORE, '--reader', oldCert, '--all'], { encoding: 'utf8' });
    await page.fill('#certificate', fs.readFileSync(oldCert, 'utf8'));
    await page.click('#certificate-form button[type=submit]');
    await open(page, 'the old key');
    await page.click('#back');
    const oldFp = await page.textContent('#reader-fp');

    await page.click('#device-help-toggle');
    await page.click('#replace-key');
    const NEW_PASSPHRASE = 'a new key for this browser';
    await unlockWithPassphrase(page, NEW_PASSPHRASE);
    await page.waitForFunction(() => !document.getElementById('device-pending').hidden);
    const fingerprint = await page.textContent('#device-fp');
    assert.notEqual(fingerprint, oldFp, 'a new key');
    assert.equal(await page.textContent('#reader-fp'), oldFp, 'the old key is still in use');
    let s = await waitFor(page, 'still listing with the old key', (s) => s.phase === 'list' && s.studies >= 1);
    const request = path.join(work, 'new.request.json');
    fs.writeFileSync(request, await page.inputValue('#device-request'));
    const newCert = path.join(work, 'new.cert.json');
    execFileSync(BIN, ['reader', 'certify', '--keys', KEYS, request, '--fingerprint', fingerprint, '--out', newCert], { encoding: 'utf8' });
    execFileSync(BIN, ['rewrap', '--keys', KEYS, '--store', STORE, '--reader', newCert, '--all'], { encoding: 'utf8' });
    await page.fill('#install-certificate', fs.readFileSync(newCert, 'utf8'));
    await page.click('#install-certificate-form button[type=submit]');
    s = await waitFor(page, 'locked for the new key', (s) => s.lock.why === 'replaced' && s.keys.phase === 'locked');
    assert.match(await page.textContent('#lock-reason'), /new key/);
    await page.fill('#unlock-passphrase', 'obscura e2e river stone 42');
    await page.click('#unlock-submit');
    await waitFor(page, 'the old passphrase refused', (s) => /Wrong passphrase/.test(s.keys.error ?? ''));
    await unlockWithPassphrase(page, NEW_PASSPHRASE);
    await open(page, 'the new key');
    assert.equal(await page.textContent('#reader-fp'), fingerprint);
    const atRest = await assertStorageClean(page);
    assert.ok(!atRest.records.includes('pending-reader') && !atRest.records.includes('pending-request'), `records: ${atRest.records}`);
  });
  fs.rmSync(work, { recursive: true, force: true });
});
