// The page side of `cargo xtask bench crypto`: our stream code (through the wasm module) against
// raw crypto.subtle.decrypt on the same chunks, same key and nonces, alternating, medians.
import init, * as wasm from './pkg/obscura_bench_web.js';

const HEADER_LEN = 40;
const TAG_LEN = 16;

function log(line) {
  console.log(line);
  document.getElementById('log').textContent += line + '\n';
}

// FORMAT.md §3.2: 11-byte big-endian chunk counter, then the last-chunk flag.
function nonce(i, last) {
  const n = new Uint8Array(12);
  new DataView(n.buffer).setUint32(7, i);
  n[11] = last ? 1 : 0;
  return n;
}

// Raw WebCrypto: the key made by `makeKey` (timed, as our path imports its object key), then one
// decrypt per chunk, `inFlight` of them outstanding at a time; the plaintext chunks stay ArrayBuffers.
async function rawOpen(ctx, makeKey, inFlight) {
  const key = await makeKey();
  const { sealed, header, chunkSize, chunks } = ctx;
  const out = new Array(chunks);
  const one = (i) => {
    const start = HEADER_LEN + i * (chunkSize + TAG_LEN);
    const end = Math.min(start + chunkSize + TAG_LEN, sealed.length);
    const algo = { name: 'AES-GCM', iv: nonce(i, i === chunks - 1), additionalData: header, tagLength: 128 };
    return crypto.subtle.decrypt(algo, key, sealed.subarray(start, end)).then((b) => { out[i] = b; });
  };
  if (inFlight <= 1) {
    for (let i = 0; i < chunks; i++) await one(i);
  } else {
    let next = 0;
    const lane = async () => { while (next < chunks) await one(next++); };
    await Promise.all(Array.from({ length: inFlight }, lane));
  }
  return out;
}

function concat(buffers) {
  const total = buffers.reduce((n, b) => n + b.byteLength, 0);
  const all = new Uint8Array(total);
  let at = 0;
  for (const b of buffers) { all.set(new Uint8Array(b), at); at += b.byteLength; }
  return all;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

window.runBench = async ({ mib = 64, chunkSize = 256 * 1024, reps = 7 } = {}) => {
  await init();
  const len = mib * 1024 * 1024;
  let t = performance.now();
  wasm.prepare(len, chunkSize);
  log(`sealed ${mib} MiB in ${chunkSize / 1024} KiB chunks in the page (seal_object, RustCrypto in wasm) in ${(performance.now() - t).toFixed(0)} ms`);
  const sealed = wasm.sealed();
  const ctx = { sealed, header: sealed.slice(0, HEADER_LEN), chunkSize, chunks: Math.max(1, Math.ceil(len / chunkSize)) };
  const objectKey = wasm.objectKey();
  const studyKey = await crypto.subtle.importKey('raw', wasm.studyKey(), 'HKDF', false, ['deriveKey']);
  const hkdf = { name: 'HKDF', hash: 'SHA-256', salt: wasm.objectId(), info: new TextEncoder().encode('obscura/v1/object-key') };
  const importRaw = () => crypto.subtle.importKey('raw', objectKey, 'AES-GCM', false, ['decrypt']);
  const deriveFromStudyKey = () => crypto.subtle.deriveKey(hkdf, studyKey, { name: 'AES-GCM', length: 256 }, false, ['decrypt']);

  const ours = (v) => ({ run: () => wasm.run(v), check: () => wasm.lastMatches(), release: () => wasm.release() });
  const raw = (makeKey, inFlight) => {
    let last = null;
    return {
      run: async () => { last = await rawOpen(ctx, makeKey, inFlight); },
      check: () => wasm.matchesPlaintext(concat(last)),
      release: () => { last = null; },
    };
  };
  const variants = {
    'ours-object': ours('ours-object'),
    'ours-chunks': ours('ours-chunks'),
    'raw': raw(importRaw, 1),
    'raw-hkdf': raw(deriveFromStudyKey, 1),
    'ours-chunks-pipelined': ours('ours-chunks-pipelined'),
    'raw-pipelined': raw(importRaw, 4),
    'wasm-decrypt': ours('wasm-decrypt'),
    'wasm-decrypt-copy': ours('wasm-decrypt-copy'),
    'wasm-decrypt-copy-zero': ours('wasm-decrypt-copy-zero'),
    'proto-into-output': ours('proto-into-output'),
    'proto-into-output-pipelined': ours('proto-into-output-pipelined'),
  };
  const names = Object.keys(variants);

  // Warm-up and correctness: every variant once, its output compared with the plaintext.
  for (const name of names) {
    const v = variants[name];
    await v.run();
    if (!v.check()) throw new Error(`${name}: output differs from the plaintext`);
    v.release();
  }
  log(`all ${names.length} variants decrypt to the plaintext; ${reps} alternating repetitions`);

  const ms = Object.fromEntries(names.map((n) => [n, []]));
  const releaseMs = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < reps; r++) {
    // Rotate the order every repetition so no variant always follows the same one.
    const order = names.map((_, i) => names[(i + r) % names.length]);
    for (const name of order) {
      const v = variants[name];
      t = performance.now();
      await v.run();
      ms[name].push(performance.now() - t);
      t = performance.now();
      v.release();
      releaseMs[name].push(performance.now() - t);
    }
    log(`repetition ${r + 1}/${reps}: ` + names.map((n) => `${n} ${ms[n][r].toFixed(0)} ms`).join(', '));
  }
  const results = {};
  for (const n of names) {
    const m = median(ms[n]);
    const best = Math.min(...ms[n]);
    results[n] = {
      medianMs: m, mbPerS: len / 1e6 / (m / 1000), bestMs: best, bestMbPerS: len / 1e6 / (best / 1000),
      releaseMs: median(releaseMs[n]), samples: ms[n],
    };
  }
  const costs = [];
  for (let r = 0; r < reps; r++) costs.push(wasm.mainThreadCosts());
  const mainThread = Object.fromEntries(Object.keys(costs[0]).map((k) => [k, median(costs.map((c) => c[k]))]));
  return { mainThread, bytes: len, chunkSize, reps, chunks: ctx.chunks, results, userAgent: navigator.userAgent, cores: navigator.hardwareConcurrency };
};
