// The peer of `cargo xtask bench codecs`: Cornerstone's own code path for one DICOM Part 10 file,
// bundled by esbuild into `peer.js` of the bench site (the codec packages ship CommonJS/UMD
// Emscripten builds, which Cornerstone apps also take through a bundler).
//
// Per file, as @cornerstonejs/dicom-image-loader's wadouri loader does it:
//   dicomParser.parseDicom(bytes)                                  (loader, main thread)
//   wadouri getPixelData(dataSet, 0)  -> the frame's codestream     (loader, main thread)
//   decodeImageFrame(imageFrame, transferSyntax, pixelData, decodeConfig, options)
//                                                                   (decodeImageFrameWorker.js, the
//                                                                    function its web worker runs)
// decodeImageFrame picks the decoder by transfer syntax (libjpeg-turbo 8-bit, the JS 12-bit JPEG
// decoder, jpeg-lossless-decoder-js, CharLS, OpenJPEG, OpenJPH, its own RLE decoder), initialises
// it on first use and then post-processes the frame (sign extension, min/max, copy into a fresh
// typed array). `options.preScale.enabled = false`: we compare stored values, and our renderer
// applies Rescale Slope/Intercept in the shader; with preScale on, Cornerstone would also run
// one multiply-add pass over the frame.
import * as dicomParser from 'dicom-parser';
import getPixelData from '@cornerstonejs/dicom-image-loader/wadouri/getPixelData';
import { decodeImageFrame } from '../node_modules/@cornerstonejs/dicom-image-loader/dist/esm/decodeImageFrameWorker.js';

// The directory the codec .wasm files are copied to (resolveWasmUrl appends their file names).
const decodeConfig = { wasmBasePath: new URL('./peer-wasm/', import.meta.url).href };

// What getImageFrame(imageId) reads from the metadata provider (the imagePixelModule), taken
// straight from the data set.
function imageFrameOf(dataSet) {
  return {
    samplesPerPixel: dataSet.uint16('x00280002'),
    photometricInterpretation: dataSet.string('x00280004'),
    planarConfiguration: dataSet.uint16('x00280006'),
    rows: dataSet.uint16('x00280010'),
    columns: dataSet.uint16('x00280011'),
    bitsAllocated: dataSet.uint16('x00280100'),
    bitsStored: dataSet.uint16('x00280101'),
    pixelRepresentation: dataSet.uint16('x00280103'),
    smallestPixelValue: undefined,
    largestPixelValue: undefined,
    pixelData: undefined,
  };
}

// Parses one file (Uint8Array) as the loader does; returns what decode needs.
export function parse(bytes) {
  const dataSet = dicomParser.parseDicom(bytes);
  const transferSyntax = dataSet.string('x00020010');
  const pixelData = getPixelData(dataSet, 0);
  return { transferSyntax, imageFrame: imageFrameOf(dataSet), pixelData };
}

// Decodes one parsed frame; resolves to the post-processed image frame (`.pixelData` typed array).
export function decode({ transferSyntax, imageFrame, pixelData }) {
  const options = { preScale: { enabled: false } };
  return decodeImageFrame({ ...imageFrame }, transferSyntax, pixelData, decodeConfig, options);
}

// Parse + decode one file: what the timing covers.
export function parseAndDecode(bytes) {
  return decode(parse(bytes));
}

