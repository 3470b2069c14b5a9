// The reader key at rest, bound to a second factor (crates/viewer/src/protect.rs, docs/KEYS.md), in
// Debian's headless Chromium: a passphrase (wrong one refused), a passkey with the WebAuthn PRF
// extension on a CDP virtual authenticator (and without it: refused, clearly), a key of an older
// viewer replaced, enrolment by an administrator (`obscura reader certify` + `obscura rewrap`), and
// what the profile holds afterwards: no CryptoKey, no private key material, no patient name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launchBrowser, waitFor, state, requireEnv, unlockWithPassphrase, TEST_PASSPHRASE, findNeedles, PKCS8_P256, indexedDbAtRest, assertProfileClean, withProfile as withProfileOf } from './lib.mjs';

const env = (k) => requireEnv(k, 'cargo xtask test');
const DEMO_URL = env('OBSCURA_URL'); // `obscura serve --demo`
const ADMIN_URL = env('OBSCURA_ADMIN_URL'); // `obscura serve` over the same store, without demo enrolment
const BIN = env('OBSCURA_BIN');
const KEYS = env('OBSCURA_KEYS');
const STORE = env('OBSCURA_STORE');
const PLAIN = env('OBSCURA_PLAINTEXT');
const PATIENT = env('OBSCURA_PATIENT_NAME');
const ARTIFACTS = env('OBSCURA_ARTIFACTS');
const [family, ...given] = PATIENT.split('^');
const SHOWN_NAME = `${family}, ${given.join(' ')}`;

// `withProfile` (lib.mjs): a fresh profile, searched for cleartext and private keys afterwards.
const withProfile = (name, body) => withProfileOf(name, { patient: PATIENT, plainDir: PLAIN }, body);

// WebAuthn refuses IP addresses as relying party ids: the passkey test reaches the same server as
// `localhost` (Chromium resolves it to loopback itself).
const localhost = (url) => { const u = new URL(url); u.hostname = 'localhost'; return u.href; };

async function listAndOpen(page, what) {
  await waitFor(page, `${what}: the study list`, (s) => s.phase === 'list' && s.studies >= 1, 120000);
  assert.ok((await page.textContent('#study-list')).includes(SHOWN_NAME), `${what}: the list shows the decrypted patient name`);
  await page.click('button.study');
  const s = await waitFor(page, `${what}: the first slice`, (s) => s.open && s.open.shown === 0, 120000);
  await page.click('#back');
  return s;
}

test('passphrase: enrol, list, open; reload: a wrong passphrase is refused, the right one opens; nothing usable at rest', { timeout: 300000 }, async () => {
  await withProfile('keys', async (page) => {
    await page.goto(DEMO_URL);
    await waitFor(page, 'the first-run choice', (s) => s.phase === 'choose-protection');
    assert.ok(!(await page.isVisible('#new-passkey')), 'no passkey offered at an IP address (WebAuthn refuses it)');
    // The passphrase rules: too short, then two different ones, are refused before any key is made.
    await page.fill('#new-passphrase', 'short');
    await page.fill('#new-passphrase-again', 'short');
    await page.click('#new-passphrase-form button[type=submit]');
    let s = await waitFor(page, 'the short passphrase refused', (s) => s.keys.error);
    assert.match(s.keys.error, /at least 12 characters/);
    await page.fill('#new-passphrase', TEST_PASSPHRASE);
    await page.fill('#new-passphrase-again', `${TEST_PASSPHRASE}!`);
    await page.click('#new-passphrase-form button[type=submit]');
    s = await waitFor(page, 'different passphrases refused', (s) => /differ/.test(s.keys.error ?? ''));
    assert.equal(s.phase, 'choose-protection');
    await unlockWithPassphrase(page);
    s = await listAndOpen(page, 'after enrolment');
    assert.deepEqual(s.keys.session.reader, { type: 'private', extractable: false, algorithm: 'ECDH', usages: ['deriveBits'] });
    assert.deepEqual(s.keys.session.signing, { type: 'private', extractable: false, algorithm: 'ECDSA', usages: ['sign'] });
    const fingerprint = await page.textContent('#reader-fp');
    assert.match(fingerprint, /^\d{5}( \d{5}){11}$/);

    // Reload: the keys are gone with the page; the stored record alone opens nothing.
    await page.reload();
    s = await waitFor(page, 'the unlock screen', (s) => s.phase === 'locked');
    assert.equal(s.keys.session, null, 'no key before unlocking');
    assert.ok(await page.isVisible('#unlock-passphrase'), 'the passphrase field is shown');
    assert.ok(!(await page.isVisible('#unlock-passkey')), 'no passkey button for a passphrase-protected key');
    assert.equal(await page.textContent('#reader-fp'), fingerprint, 'the locked screen shows the same key');
    await page.fill('#unlock-passphrase', 'not the passphrase at all');
    await page.click('#unlock-submit');
    s = await waitFor(page, 'the wrong passphrase refused', (s) => s.phase === 'locked' && s.keys.error);
    assert.match(s.keys.error, /Wrong passphrase.*Try again/);
    assert.match(await page.textContent('#protect-error'), /Wrong passphrase/);
    assert.equal(s.keys.session, null, 'a wrong passphrase opens no key');
    await page.screenshot({ path: path.join(ARTIFACTS, 'keys-01-wrong-passphrase.png') });
    await unlockWithPassphrase(page);
    await listAndOpen(page, 'after unlocking');

    // At rest, from the page: the protected record, no CryptoKey, no private key material.
    const atRest = await indexedDbAtRest(page);
    assert.ok(atRest.records.includes('protected-reader'), `records: ${atRest.records}`);
    assert.ok(!atRest.records.includes('reader'), 'no record in the old unprotected form');
    assert.deepEqual(atRest.cryptoKeys, [], 'no CryptoKey is stored');
    assert.deepEqual(atRest.privateMaterial, [], 'no private key material in clear');
    const record = JSON.parse(await page.evaluate(() => new Promise((res) => {
      const o = indexedDB.open('obscura');
      o.onsuccess = () => { const r = o.result.transaction('keys').objectStore('keys').get('protected-reader'); r.onsuccess = () => res(r.result); };
    })));
    assert.equal(record.protection.method, 'passphrase');
    assert.deepEqual(record.protection.argon2id, { m_kib: 65536, t: 3, p: 1 });
    assert.equal(Buffer.from(record.reader_key.wrapped, 'base64').length, 138 + 16, 'a wrapped PKCS#8 P-256 key and its tag');
  });
  // (withProfile then searched the disk: neither the patient's name nor a P-256 private key in
  // PKCS#8, raw or base64.)
});

test('a key stored by an older viewer is replaced by a protected one (demo mode enrols it again)', { timeout: 300000 }, async () => {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'obscura-profile-legacy-'));
  let { context, page } = await launchBrowser(profile);
  try {
    // What viewers before the protection stored: the CryptoKey itself (non-extractable).
    await page.goto(DEMO_URL);
    await waitFor(page, 'the first-run choice', (s) => s.phase === 'choose-protection');
    await page.evaluate(async () => {
      const pair = await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, false, ['deriveBits']);
      const publicRaw = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey));
      const db = await new Promise((res) => { const o = indexedDB.open('obscura'); o.onsuccess = () => res(o.result); });
      await new Promise((res) => {
        const tx = db.transaction('keys', 'readwrite');
        tx.objectStore('keys').put({ privateKey: pair.privateKey, publicKey: pair.publicKey, publicRaw }, 'reader');
        tx.oncomplete = res;
      });
      db.close();
    });
    await context.close();
    // Positive control of the disk search above: such a key is in the profile's files in clear.
    const { hits } = findNeedles(profile, [['PKCS#8 private key', PKCS8_P256]]);
    assert.ok(hits.length > 0, 'a stored non-extractable CryptoKey is found in the profile (DESIGN.md)');

    ({ context, page } = await launchBrowser(profile));
    await page.goto(DEMO_URL);
    await waitFor(page, 'the first-run choice', (s) => s.phase === 'choose-protection');
    assert.ok(await page.isVisible('#protect-reason'));
    assert.match(await page.textContent('#protect-reason'), /older Obscura viewer.*cannot be protected/);
    await unlockWithPassphrase(page);
    await listAndOpen(page, 'after replacing the old key');
    const atRest = await indexedDbAtRest(page);
    assert.ok(!atRest.records.includes('reader'), 'the old key record is deleted');
    assert.deepEqual(atRest.cryptoKeys, []);
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
});

test('passkey: WebAuthn PRF on a virtual authenticator protects the key; without it nothing opens', { timeout: 300000 }, async () => {
  await withProfile('prf', async (page, context) => {
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable', { enableUI: false });
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, hasPrf: true },
    });
    await page.goto(localhost(DEMO_URL));
    await waitFor(page, 'the first-run choice', (s) => s.phase === 'choose-protection');
    assert.ok(await page.isVisible('#new-passkey'), 'a passkey is offered where WebAuthn PRF is supported');
    await page.screenshot({ path: path.join(ARTIFACTS, 'keys-00-first-run.png') });
    await page.click('#new-passkey');
    let s = await listAndOpen(page, 'after enrolling with a passkey');
    assert.equal(s.keys.session.reader.extractable, false);
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    assert.equal(credentials.length, 1, 'one credential on the authenticator');

    await page.reload();
    s = await waitFor(page, 'the unlock screen', (s) => s.phase === 'locked');
    assert.ok(await page.isVisible('#unlock-passkey'), 'the passkey button is shown');
    assert.ok(!(await page.isVisible('#unlock-passphrase')), 'no passphrase field for a passkey-protected key');
    await page.click('#unlock-passkey');
    await listAndOpen(page, 'after unlocking with the passkey');

    // The authenticator is gone: the key stays locked and the viewer says what to do. (Another,
    // empty authenticator stands in, as another security key plugged in would: with none at all the
    // browser waits for one until the request's timeout, two minutes.)
    await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId });
    await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'usb', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, hasPrf: true },
    });
    await page.reload();
    await waitFor(page, 'the unlock screen', (s) => s.phase === 'locked');
    await page.click('#unlock-passkey');
    s = await waitFor(page, 'the missing authenticator reported', (s) => s.phase === 'locked' && s.keys.error);
    assert.match(s.keys.error, /did not answer.*Connect or unlock the security key or passkey/);
    assert.equal(s.keys.session, null, 'nothing is unlocked');
    await page.screenshot({ path: path.join(ARTIFACTS, 'keys-02-passkey-missing.png') });
    const record = await indexedDbAtRest(page);
    assert.deepEqual([record.cryptoKeys, record.privateMaterial], [[], []]);
  });
});

test('enrolment by an administrator: signed request and fingerprint, reader certify, rewrap, certificate pasted, study opens', { timeout: 300000 }, async () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'obscura-enrol-'));
  try {
    await withProfile('admin', (page) => enrolByAdministrator(page, work));
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
});

// The administrator's enrolment of the reader key on `page` (files in `work`).
async function enrolByAdministrator(page, work) {
  await page.goto(ADMIN_URL);
  await unlockWithPassphrase(page);
  await waitFor(page, 'the enrolment request', (s) => s.phase === 'not-enrolled');
  const request = await page.inputValue('#enrolment-request');
  const fingerprint = await page.textContent('#enrol-fp');
  assert.match(fingerprint, /^\d{5}( \d{5}){11}$/);
  assert.equal(await page.textContent('#reader-fp'), fingerprint, 'the request shows this browser key\'s fingerprint');
  assert.ok((await page.textContent('#status')).includes(fingerprint));
  const parsed = JSON.parse(request);
  assert.deepEqual(Object.keys(parsed).sort(), ['created', 'format', 'public_key', 'signature', 'signing_key', 'subject']);
  await page.screenshot({ path: path.join(ARTIFACTS, 'keys-03-enrolment-request.png') });

  // Something that is not a certificate for this key is refused.
  await page.fill('#certificate', request);
  await page.click('#certificate-form button[type=submit]');
  await page.waitForFunction(() => /Refused: this is not a certificate/.test(document.getElementById('enrol-error').textContent));

  // The administrator: certify after comparing fingerprints, then re-wrap the studies.
  fs.writeFileSync(path.join(work, 'request.json'), request);
  const certified = execFileSync(BIN, ['reader', 'certify', '--keys', KEYS, path.join(work, 'request.json'),
    '--fingerprint', fingerprint, '--out', path.join(work, 'reader.cert.json')], { encoding: 'utf8' });
  assert.ok(certified.includes(`fingerprint: ${fingerprint}`), `certify shows the same fingerprint:\n${certified}`);
  execFileSync(BIN, ['rewrap', '--keys', KEYS, '--store', STORE, '--reader', path.join(work, 'reader.cert.json'), '--all'], { encoding: 'utf8' });

  await page.fill('#certificate', fs.readFileSync(path.join(work, 'reader.cert.json'), 'utf8'));
  await page.click('#certificate-form button[type=submit]');
  await listAndOpen(page, 'after the administrator\'s certificate');
  assert.ok(!(await page.isVisible('#enrol')), 'the enrolment panel is gone');
}
