// The Web Worker of `cargo xtask bench codecs`: the same loop as on the main thread, both sides in
// this worker (the viewer will decode off the main thread; Cornerstone decodes in its workers).
// Messages to us carry `bench`; importing the peer bundle also registers the dicom-image-loader's
// comlink endpoint on this worker, whose replies the page ignores.
import init, * as wasm from './pkg/obscura_bench_web.js';
import * as peer from './peer.js';
import { runCodecs } from './codecs-core.js';

self.addEventListener('message', async (ev) => {
  if (!ev.data?.bench) return;
  try {
    await init();
    const log = (line) => self.postMessage({ bench: 'log', line });
    const results = await runCodecs({ wasm, peer, rows: ev.data.rows, reps: ev.data.reps, warmups: ev.data.warmups, log });
    self.postMessage({ bench: 'done', results });
  } catch (e) {
    self.postMessage({ bench: 'error', error: String(e?.stack ?? e) });
  }
});
