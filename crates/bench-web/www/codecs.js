// The page side of `cargo xtask bench codecs`: loads the inputs (inputs/manifest.json) and runs
// the loop of codecs-core.js in a module worker, then on the main thread.
import init, * as wasm from './pkg/obscura_bench_web.js';
import * as peer from './peer.js';
import { runCodecs } from './codecs-core.js';

function log(line) {
  console.log(line);
  document.getElementById('log').textContent += line + '\n';
}

async function loadRows() {
  const manifest = await (await fetch('inputs/manifest.json')).json();
  const rows = [];
  for (const row of manifest.rows) {
    const files = await Promise.all(row.files.map(async (f) => new Uint8Array(await (await fetch(`inputs/${f}`)).arrayBuffer())));
    rows.push({ ...row, files });
  }
  return rows;
}

function inWorker(rows, reps, warmups) {
  const worker = new Worker('codecs-worker.js', { type: 'module' });
  return new Promise((resolve, reject) => {
    worker.onerror = (e) => reject(new Error(`worker: ${e.message}`));
    worker.onmessage = (ev) => {
      const m = ev.data;
      if (m?.bench === 'log') log(`  [worker] ${m.line}`);
      else if (m?.bench === 'done') { worker.terminate(); resolve(m.results); }
      else if (m?.bench === 'error') { worker.terminate(); reject(new Error(m.error)); }
    };
    worker.postMessage({ bench: 'run', rows, reps, warmups });
  });
}

window.runCodecBench = async ({ reps = 7, warmups = 3, main = true } = {}) => {
  const rows = await loadRows();
  log(`${rows.length} transfer syntaxes × ${rows[0].files.length} slices loaded`);
  const worker = await inWorker(rows, reps, warmups);
  let mainThread = null;
  if (main) {
    await init();
    mainThread = await runCodecs({ wasm, peer, rows, reps, warmups, log: (l) => log(`  [main] ${l}`) });
  }
  return {
    worker, main: mainThread, reps, warmups, slices: rows[0].files.length,
    inputs: rows.map(({ files, ...r }) => ({ ...r, files: files.length })),
    userAgent: navigator.userAgent, cores: navigator.hardwareConcurrency,
  };
};
