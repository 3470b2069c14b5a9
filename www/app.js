// Boots the wasm viewer. Nothing else lives in JavaScript: no cleartext passes through here.
import init, * as obscura from '../pkg/obscura_viewer.js';

// A share link carries its secret in the fragment (#share=…): take it out of the address bar and
// of this history entry before anything is fetched (the wasm module included), and hand it to the
// viewer. A reload then no longer has it; the recipient opens the link again from their message.
const share = location.hash.startsWith('#share=') ? location.hash : null;
if (share !== null) history.replaceState(null, '', location.pathname + location.search);

const wasm = await init();
// Test and debugging hooks (state snapshots and a GPU read-back of the displayed slice), and the
// benchmarks' (`cargo xtask bench scroll`): the frames drawn and the size of the wasm memory.
window.obscura = {
  state: () => JSON.parse(obscura.debugState()),
  readBack: () => obscura.readBack(),
  sealedUrlForSlice: (i) => obscura.sealedUrlForSlice(i),
  loseGpu: () => obscura.loseGpu(),
  frameLog: () => JSON.parse(obscura.frameLog()),
  wasmMemoryBytes: () => wasm.memory.buffer.byteLength,
};
(share !== null ? obscura.bootShare(share) : obscura.boot()).catch((e) => {
  document.getElementById('status').textContent = `Error: ${e}`;
});
