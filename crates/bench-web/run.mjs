// Runner of `cargo xtask bench crypto`: serves BENCH_SITE on 127.0.0.1, opens it in Debian's
// headless Chromium through Playwright (playwright-core from tests/e2e, no downloaded browser),
// runs the page's benchmark and prints MB/s and ratios. Prints numbers; asserts nothing about time.
import fs from 'node:fs';
import { withBenchPage } from './serve.mjs';

const opts = {
  mib: Number(process.env.BENCH_MIB || 64),
  chunkSize: Number(process.env.BENCH_CHUNK || 256 * 1024),
  reps: Number(process.env.BENCH_REPS || 7),
};

const { out, version } = await withBenchPage('index.html', async (page) => {
  await page.waitForFunction(() => typeof window.runBench === 'function');
  return page.evaluate((o) => window.runBench(o), opts);
});

const r = out.results;
console.log(`\nChromium ${version} headless, ${out.cores} logical cores; ${out.bytes / 1048576} MiB object, ` +
  `${out.chunkSize / 1024} KiB chunks (${out.chunks}), ${out.reps} alternating repetitions; MB = 10^6 bytes of plaintext; ` +
  `median (best); "drop" = freeing the output afterwards (zeroizing when it is Zeroizing), not in the time\n`);
const rows = [
  ['ours-object', 'open_object: study key in WebCrypto, whole object into one buffer, 4 chunks in flight (as the viewer)'],
  ['ours-chunks', 'ObjectOpener::open_chunk, one chunk at a time'],
  ['raw', 'crypto.subtle.decrypt from JS, one chunk at a time (importKey raw object key)'],
  ['raw-hkdf', 'the same, object key by HKDF deriveKey from a study-key CryptoKey'],
  ['ours-chunks-pipelined', 'ObjectOpener::open_chunk, 4 chunks in flight'],
  ['raw-pipelined', 'crypto.subtle.decrypt from JS, 4 chunks in flight'],
  ['wasm-decrypt', 'decomposition: decrypt from wasm, buffer left in JS'],
  ['wasm-decrypt-copy', '  + copy into wasm memory'],
  ['wasm-decrypt-copy-zero', '  + zero the JS buffer (= WebCryptoCipher::open_chunk)'],
  ['proto-into-output', 'prototype: decrypt into the output buffer, no per-chunk Vec'],
  ['proto-into-output-pipelined', 'prototype: the same, 4 chunks in flight'],
];
for (const [n, what] of rows) {
  const x = r[n];
  console.log(`${n.padEnd(28)} ${x.mbPerS.toFixed(0).padStart(5)} (${x.bestMbPerS.toFixed(0).padStart(5)}) MB/s ` +
    `${x.medianMs.toFixed(1).padStart(6)} ms  drop ${x.releaseMs.toFixed(1).padStart(4)} ms  ${what}`);
}
const c = out.mainThread;
console.log(`\nmain-thread costs over the whole object, ms (median): JS fill(0) ${c.jsFill.toFixed(1)}, ` +
  `copy into wasm (to_vec) ${c.toVec.toFixed(1)}, extend_from_slice ${c.extend.toFixed(1)}, ` +
  `zeroize per-chunk Vecs ${c.zeroizeChunks.toFixed(1)}, zeroize the output ${c.zeroizeOutput.toFixed(1)} ` +
  `(as u64 words: ${c.zeroizeOutputWords.toFixed(1)})`);
const ratio = (a, b = 'raw') => `${(r[a].mbPerS / r[b].mbPerS).toFixed(2)} (${(r[a].bestMbPerS / r[b].bestMbPerS).toFixed(2)})`;
console.log(`\nratio ours/raw (target >= 0.9): open_object ${ratio('ours-object')}, ObjectOpener ${ratio('ours-chunks')}`);
console.log(`of sequential raw: ours pipelined ${ratio('ours-chunks-pipelined')}, raw pipelined ${ratio('raw-pipelined')}, ` +
  `prototype into-output ${ratio('proto-into-output')}, pipelined ${ratio('proto-into-output-pipelined')}`);
if (process.env.BENCH_JSON) fs.writeFileSync(process.env.BENCH_JSON, JSON.stringify(out, null, 2));
