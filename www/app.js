// Boots the wasm viewer. Nothing else lives in JavaScript: no cleartext passes through here.
import init, * as obscura from '../pkg/obscura_viewer.js';

await init();
// Test and debugging hooks (state snapshots and a GPU read-back of the displayed slice).
window.obscura = {
  state: () => JSON.parse(obscura.debugState()),
  readBack: () => obscura.readBack(),
  sealedUrlForSlice: (i) => obscura.sealedUrlForSlice(i),
};
obscura.boot().catch((e) => {
  document.getElementById('status').textContent = `Error: ${e}`;
});
