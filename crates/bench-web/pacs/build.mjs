// Lays out the Cornerstone side of `cargo xtask bench pacs` in the bench site (argument 1):
// `cornerstone.js`, the esbuild bundle of pacs/cornerstone.js (@cornerstonejs/core and
// @cornerstonejs/dicom-image-loader, with vtk.js and the metadata package they import), and
// `decodeImageFrameWorker.js`, the loader's web worker, bundled beside it under the name the
// loader asks for. The study is uncompressed (Explicit VR Little Endian): no codec .wasm is loaded.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const site = process.argv[2];
if (!site) throw new Error('usage: node pacs/build.mjs SITE_DIR');
const common = {
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  logLevel: 'warning',
  // as an app's production build
  minify: true,
  // As Cornerstone's webpack setup does (resolve.fallback fs/path: false): the Emscripten glue
  // requires them only under Node.
  external: ['fs', 'path'],
  // dcmjs's XML dependency requires these at load time (see node-stub.js).
  alias: { url: path.join(here, 'node-stub.js'), events: path.join(here, 'node-stub.js') },
};
await esbuild.build({ ...common, entryPoints: [path.join(here, 'cornerstone.js')], outfile: path.join(site, 'cornerstone.js') });
await esbuild.build({
  ...common,
  entryPoints: [path.join(here, '../node_modules/@cornerstonejs/dicom-image-loader/dist/esm/decodeImageFrameWorker.js')],
  outfile: path.join(site, 'decodeImageFrameWorker.js'),
});
