// The codec .wasm files the peer loads: [path in node_modules, the file name the loader asks for].
export const WASM_FILES = [
  ['@cornerstonejs/codec-libjpeg-turbo-8bit/dist/libjpegturbowasm_decode.wasm', 'libjpegturbowasm_decode.wasm'],
  ['@cornerstonejs/codec-charls/dist/charlswasm_decode.wasm', 'charlswasm_decode.wasm'],
  ['@cornerstonejs/codec-openjpeg/dist/openjpegwasm_decode.wasm', 'openjpegwasm_decode.wasm'],
  ['@cornerstonejs/codec-openjph/dist/openjphjs.wasm', 'openjphjs.wasm'],
];
