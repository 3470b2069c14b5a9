// A real, untrusted PACS end to end: the gateway seals and pushes a study to Orthanc over TLS
// (STOW-RS, resumable), the viewer on its own origin lists it through QIDO-RS and opens it through
// the raw endpoint with byte ranges, the pixels match an independent rendering, Orthanc's storage
// holds no cleartext, and the study still opens complete through injected faults (5xx, resets,
// stalls, truncated bodies, the PACS down and back).
//
// Runs inside `cargo xtask pacs` (a loopback-only network namespace): see crates/xtask/src/pacs.rs
// for the OBSCURA_PACS_* variables, and crates/xtask/src/main.rs (`pacs_e2e`) for the others.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { launchBrowser, slicePixels, voiLinear, state, waitFor, readBack, compare, wheelTo, walk, cleartextNeedles, findNeedles, requireEnv, unlockWithPassphrase } from './lib.mjs';

const env = (k) => requireEnv(k, 'cargo xtask test');
const BIN = env('OBSCURA_BIN');
const SITE = env('OBSCURA_SITE');
const KEYS = env('OBSCURA_KEYS');
const STORE = env('OBSCURA_STORE');
const PLAIN = env('OBSCURA_PLAINTEXT');
const PATIENT = env('OBSCURA_PATIENT_NAME');
const VIEWER_PORT = env('OBSCURA_VIEWER_PORT');
const PACS = env('OBSCURA_PACS_URL');
const RAW = env('OBSCURA_PACS_RAW');
const CA = env('OBSCURA_PACS_CA');
const SPKI = env('OBSCURA_PACS_SPKI');
const TOKEN = env('OBSCURA_PACS_TOKEN');
const STORAGE = env('OBSCURA_PACS_STORAGE');
const ACCESS_LOG = env('OBSCURA_PACS_ACCESS_LOG');
const FAULT_PLAN = env('OBSCURA_PACS_FAULT_PLAN');
const FAULT_LOG = env('OBSCURA_PACS_FAULT_LOG');
const ARTIFACTS = process.env.OBSCURA_ARTIFACTS || fs.mkdtempSync(path.join(os.tmpdir(), 'obscura-artifacts-'));
const VIEWER = `http://127.0.0.1:${VIEWER_PORT}/`;
const [family, ...given] = PATIENT.split('^');
const SLICES = fs.readdirSync(PLAIN).filter((f) => f.endsWith('.dcm')).length;

function push() {
  const out = execFileSync(BIN, ['push', '--store', STORE, '--url', PACS, '--ca-file', CA, '--token-env', 'OBSCURA_PACS_TOKEN'],
    { encoding: 'utf8', env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  console.log(out.trim());
  return out;
}

// What the PACS holds of our manifest series, through QIDO with the gateway's credentials.
async function pacsInstances(query) {
  const { status, body } = await new Promise((resolve, reject) => {
    const req = https.get(`${PACS}/${query}`, {
      ca: fs.readFileSync(CA),
      headers: { Authorization: `Bearer ${TOKEN}`, Accept: 'application/dicom+json' },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
  });
  assert.ok(status === 200 || status === 204, `QIDO ${query}: HTTP ${status}`);
  return status === 204 ? [] : JSON.parse(body);
}

function setFaults(plan) {
  fs.writeFileSync(FAULT_PLAN, plan);
}

async function waitPort(port, timeout = 20000) {
  const start = Date.now();
  while (Date.now() - start < timeout) {
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => { s.end(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listens on ${port}`);
}

let server;
let context;
let profile;
after(async () => {
  if (context) await context.close().catch(() => {});
  if (server) server.kill('SIGTERM');
  if (profile) fs.rmSync(profile, { recursive: true, force: true });
});

async function enterToken(page) {
  await page.waitForSelector('#auth:not([hidden])', { timeout: 60000 });
  assert.match(await page.textContent('#auth-reason'), /credentials/);
  await page.selectOption('#auth-kind', 'bearer');
  await page.fill('#auth-secret', TOKEN);
  await page.click('#auth button[type=submit]');
}

async function openAndComplete(page, label) {
  if ((await state(page)).phase !== 'list') {
    await page.click('#back');
  }
  await page.click('button.study');
  await waitFor(page, `${label}: the first slice`, (s) => s.open && s.open.shown === 0, 120000);
  const s = await waitFor(page, `${label}: every slice`, (s) => s.open.ready + s.open.failed.length === s.open.slices, 240000);
  return s;
}

test('push to Orthanc over TLS, list and open from the viewer origin, no cleartext in the PACS', { timeout: 900000 }, async () => {
  // 1. The gateway seals (done: the static store holds the study for the escrow key only) and pushes.
  const first = push();
  assert.match(first, new RegExp(`${SLICES + 1} uploaded`), 'every instance (objects and manifest) is uploaded');
  const again = push();
  assert.match(again, /0 uploaded/, 'a second push uploads nothing');
  assert.match(again, new RegExp(`${SLICES + 1} already`), 'and says every instance is already there');

  // 2. The viewer on its own origin, reading the PACS.
  server = spawn(BIN, ['serve', '--demo', '--keys', KEYS, '--store', STORE, '--site', SITE, '--port', VIEWER_PORT,
    '--dicomweb', PACS, '--orthanc-raw', RAW], { stdio: ['ignore', 'inherit', 'inherit'] });
  await waitPort(Number(VIEWER_PORT));
  profile = fs.mkdtempSync(path.join(os.tmpdir(), 'obscura-profile-pacs-'));
  // Trust exactly the test PACS's certificate (a self-signed CA made by the harness).
  const launched = await launchBrowser(profile, { args: [`--ignore-certificate-errors-spki-list=${SPKI}`] });
  context = launched.context;
  const { page, consoleLines } = launched;
  try {
    // The PACS wants a bearer token: the viewer asks for it instead of failing silently.
    await page.goto(VIEWER);
    await unlockWithPassphrase(page);
    await enterToken(page);
    let s = await waitFor(page, 'the study list', (s) => s.phase === 'list', 120000);
    // Demo enrolment re-wrapped the study for this reader in the gateway's store, but the PACS
    // still holds the first manifest (escrow only): nothing is sealed for this reader there yet.
    assert.equal(s.studies, 0, 'a study without a stanza for this reader is not shown');
    await page.screenshot({ path: path.join(ARTIFACTS, 'pacs-01-credentials-then-empty.png') });

    // 3. The gateway pushes again: only the new manifest version travels.
    const third = push();
    assert.match(third, /1 uploaded/, 'only the new manifest version is uploaded');
    const manifests = await pacsInstances('series?SeriesDescription=OBSCURA?SEALED?MANIFEST');
    assert.equal(manifests.length, 1, 'one manifest series');
    const total = await pacsInstances(`studies/${manifests[0]['0020000D'].Value[0]}/instances`);
    assert.equal(total.length, SLICES + 2, 'objects + two manifest versions, no duplicates');

    // 4. Reload: credentials were in memory only, so the viewer asks again; then the study is listed.
    await page.reload();
    await unlockWithPassphrase(page);
    await enterToken(page);
    s = await waitFor(page, 'the study list with the study', (s) => s.phase === 'list' && s.studies === 1, 120000);
    const listText = await page.textContent('#study-list');
    assert.ok(listText.includes(`${family}, ${given.join(' ')}`), `the list shows the decrypted patient name: "${listText}"`);

    // 5. Open: every slice arrives, pixels equal an independent rendering.
    s = await openAndComplete(page, 'clean open');
    console.log(`PACS: first image ${s.open.first_image_ms?.toFixed(0)} ms, complete ${s.open.complete_ms?.toFixed(0)} ms, ${s.open.bytes_received} bytes`);
    assert.deepEqual(s.open.failed, [], 'no slice failed');
    const [c, w] = s.open.window;
    compare(await readBack(page), voiLinear(slicePixels(PLAIN, 1).values, c, w), 'slice 1 from the PACS');
    await wheelTo(page, 19);
    await waitFor(page, 'slice 20', (s) => s.open.shown === 19);
    compare(await readBack(page), voiLinear(slicePixels(PLAIN, 20).values, c, w), 'slice 20 from the PACS');
    await page.screenshot({ path: path.join(ARTIFACTS, 'pacs-02-open.png') });
    const url = await page.evaluate(() => window.obscura.sealedUrlForSlice(0));
    assert.ok(url.startsWith(`${RAW}/instances/`), `slices come from the raw endpoint: ${url}`);

    // 6. Transport: HTTP/2 to nginx; nothing but ciphertext and pseudonyms in any URL.
    const log = fs.readFileSync(ACCESS_LOG, 'utf8');
    assert.match(log, /HTTP\/2\.0/, 'the browser talks HTTP/2 to the PACS front');
    assert.ok(!log.includes(family), 'no patient name in the PACS access log');

    // 7. Faults between nginx and Orthanc on the sealed-bytes requests: 503s, connections reset
    // mid-body, a stall, truncated bodies. The study still opens complete and exact.
    setFaults('503@1/6,reset@2/7,truncate@3/9,stall:30@4');
    s = await openAndComplete(page, 'open through faults');
    assert.deepEqual(s.open.failed, [], `no slice failed through the faults: ${JSON.stringify(s.open.errors)}`);
    compare(await readBack(page), voiLinear(slicePixels(PLAIN, 1).values, c, w), 'slice 1 through faults');
    await wheelTo(page, 3);
    await waitFor(page, 'slice 4', (s) => s.open.shown === 3);
    compare(await readBack(page), voiLinear(slicePixels(PLAIN, 4).values, c, w), 'slice 4 (stalled) through faults');
    const faults = fs.readFileSync(FAULT_LOG, 'utf8');
    for (const kind of ['503', 'reset', 'truncate', 'stall']) {
      assert.match(faults, new RegExp(` ${kind}`), `the proxy injected "${kind}"`);
    }
    const ranged = fs.readFileSync(ACCESS_LOG, 'utf8').split('\n').filter((l) => / 206 /.test(l) && /content\/0009-1010/.test(l));
    assert.ok(ranged.length > 0, 'broken transfers were resumed with byte ranges (206 answers)');
    console.log(`faults injected: ${faults.trim().split('\n').length - 1}; resumed by range: ${ranged.length}`);

    // 8. The PACS goes down, and comes back: a clear message, then the study completes.
    setFaults('down');
    await page.click('#back');
    await page.click('button.study');
    s = await waitFor(page, 'the pause message', (s) => s.open && s.open.paused, 60000);
    assert.match(s.open.paused, /not answering/);
    // the progress line is rewritten at most every 200 ms
    await page.waitForFunction(() => /not answering/.test(document.getElementById('progress').textContent), null, { timeout: 5000 });
    await page.screenshot({ path: path.join(ARTIFACTS, 'pacs-03-down.png') });
    setFaults('none');
    s = await waitFor(page, 'the study after the PACS is back', (s) => s.open.ready + s.open.failed.length === s.open.slices, 240000);
    assert.deepEqual(s.open.failed, [], 'no slice failed once the PACS was back');
    assert.equal(s.open.paused, null, 'the pause message is gone');
    compare(await readBack(page), voiLinear(slicePixels(PLAIN, 1).values, c, w), 'slice 1 after the PACS came back');
  } finally {
    fs.writeFileSync(path.join(ARTIFACTS, 'pacs-console.log'), consoleLines.join('\n'));
  }

  // 9. Orthanc's storage (files and index): neither the patient's name nor a raw pixel run of any slice.
  const every = Array.from({ length: SLICES }, (_, i) => i + 1);
  const { hits, files } = findNeedles(STORAGE, cleartextNeedles(PATIENT, PLAIN, every));
  assert.ok(files > SLICES, `Orthanc stored the study (${files} files)`);
  // Positive control: the scan sees what the PACS does store (the sealed-object magic).
  assert.ok([...walk(STORAGE)].some((f) => fs.readFileSync(f).includes(Buffer.from('OBSCOBJ1'))), 'the scan finds sealed objects');
  assert.deepEqual(hits, [], `cleartext found in the PACS storage:\n${hits.join('\n')}`);
});
