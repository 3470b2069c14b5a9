// Boots the wasm viewer. Nothing else lives in JavaScript: no cleartext passes through here.
import init, * as obscura from '../pkg/obscura_viewer.js';

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
obscura.boot().catch((e) => {
  document.getElementById('status').textContent = `Error: ${e}`;
});
