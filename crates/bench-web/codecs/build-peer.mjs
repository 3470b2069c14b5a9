// Lays out the peer side of `cargo xtask bench codecs` in the bench site (argument 1):
// `peer.js`, the esbuild bundle of codecs/peer.js, and `peer-wasm/`, the codec .wasm files under
// the names @cornerstonejs/dicom-image-loader asks for. @cornerstonejs/metadata is replaced by
// metadata-stub.js (a logger; see there).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const site = process.argv[2];
if (!site) throw new Error('usage: node build-peer.mjs SITE_DIR');

await esbuild.build({
  entryPoints: [path.join(here, 'peer.js')],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  outfile: path.join(site, 'peer.js'),
  logLevel: 'warning',
  // As Cornerstone's webpack setup does (resolve.fallback fs/path: false): the Emscripten glue
  // requires them only under Node.
  external: ['fs', 'path'],
  alias: { '@cornerstonejs/metadata': path.join(here, 'metadata-stub.js') },
});
const { WASM_FILES } = await import('./peer-files.mjs');
const wasmDir = path.join(site, 'peer-wasm');
fs.mkdirSync(wasmDir, { recursive: true });
for (const [from, to] of WASM_FILES) {
  fs.copyFileSync(path.join(here, '..', 'node_modules', from), path.join(wasmDir, to));
}
