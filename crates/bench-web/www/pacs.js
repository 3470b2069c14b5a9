// The page side of `cargo xtask bench pacs` for the viewer's loading path (src/pacs.rs): the
// runner calls `benchPacs.prepare(...)` once per page, then `benchPacs.run(path, plainUrls)`.
import init, * as wasm from './pkg/obscura_bench_web.js';

const fromB64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));

await init();
window.benchPacs = {
  // `escrowJwk`: the organisation's escrow key (a recipient of every study) as a JWK; imported
  // non-extractable for ECDH, as the viewer holds its reader key.
  async prepare({ dicomweb, raw, token, orgSec1, escrowJwk, escrowSec1 }) {
    wasm.pacsSetToken(token);
    const key = await crypto.subtle.importKey('jwk', escrowJwk, { name: 'ECDH', namedCurve: 'P-256' }, false, ['deriveBits']);
    return wasm.pacsPrepare(dicomweb, raw, fromB64(orgSec1), key, fromB64(escrowSec1));
  },
  run: (path, plainUrls = []) => wasm.pacsRun(path, plainUrls),
  startDecodeWorkers: () => wasm.pacsStartDecodeWorkers(),
};
