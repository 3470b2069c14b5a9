// The Cornerstone side of `cargo xtask bench pacs`, bundled by esbuild (pacs/build.mjs) into
// `cornerstone.js` of the bench site, with the loader's web worker bundled beside it as
// `decodeImageFrameWorker.js` (where the loader's `new URL('./decodeImageFrameWorker.js',
// import.meta.url)` finds it).
//
// What a Cornerstone3D app does to show a series from a DICOMweb server (as the library's own
// examples do it: `createImageIdsAndCacheMetaData`, a StackViewport):
//   1. init @cornerstonejs/core and @cornerstonejs/dicom-image-loader (its web workers; the
//      bearer token through the loader's `beforeSend` option);
//   2. fetch the series metadata (WADO-RS `/metadata`, JSON) and hand each instance's to the
//      loader's wadors metaDataManager, one `wadors:` image id per instance's frame 1;
//   3. (timed from here) `viewport.setStack(imageIds, 0)` on a StackViewport and load every image
//      with `imageLoader.loadAndCacheImage` (WADO-RS frame retrieves, decoded in the loader's
//      workers, put into Cornerstone's image cache).
// Step 2 is not timed (the viewer's counterpart, listing and decrypting the study index, is not
// in its times either); its duration is returned.
import {
  init as coreInit,
  RenderingEngine,
  Enums,
  imageLoader,
  getWebWorkerManager,
} from '@cornerstonejs/core';
import { init as loaderInit, wadors } from '@cornerstonejs/dicom-image-loader';

const tag = (m, t) => m[t]?.Value?.[0];

window.benchCornerstone = async ({ dicomweb, token, studyUid, seriesUid, inFlight = 0, maxWebWorkers = 0, render = true }) => {
  const auth = `Bearer ${token}`;
  await coreInit();
  // maxWebWorkers 0: the loader's default (half the logical cores, at least 1).
  loaderInit({ ...(maxWebWorkers ? { maxWebWorkers } : {}), beforeSend: () => ({ Authorization: auth }) });

  const m0 = performance.now();
  const r = await fetch(`${dicomweb}/studies/${studyUid}/series/${seriesUid}/metadata`, {
    headers: { Authorization: auth, Accept: 'application/dicom+json' },
    cache: 'no-store',
  });
  if (!r.ok) throw new Error(`series metadata: HTTP ${r.status}`);
  const instances = await r.json();
  instances.sort((a, b) => tag(a, '00200013') - tag(b, '00200013'));
  const imageIds = instances.map((m) => {
    const id = `wadors:${dicomweb}/studies/${studyUid}/series/${seriesUid}/instances/${tag(m, '00080018')}/frames/1`;
    wadors.metaDataManager.add(id, m);
    return id;
  });
  const metadataMs = performance.now() - m0;

  let viewport = null;
  const element = document.getElementById('viewport');
  if (render) {
    const engine = new RenderingEngine('bench');
    engine.enableElement({ viewportId: 'stack', type: Enums.ViewportType.STACK, element });
    viewport = engine.getViewport('stack');
  }

  const t0 = performance.now();
  let firstRenderedMs = null;
  const rendered = new Promise((resolve) => {
    element.addEventListener(Enums.Events.IMAGE_RENDERED, () => {
      if (firstRenderedMs === null) firstRenderedMs = performance.now() - t0;
      resolve();
    });
  });
  let firstLoadedMs = null;
  let loaded = 0;
  let checksum = 0;
  const done = (i) => (image) => {
    if (i === 0) firstLoadedMs = performance.now() - t0;
    loaded++;
    // Touch the pixels as the Obscura side does (a cheap sum of a few rows).
    const px = image.getPixelData();
    for (let k = 0; k < px.length; k += 4099) checksum = (checksum + px[k]) | 0;
    return image;
  };
  const load = (i) => imageLoader.loadAndCacheImage(imageIds[i]).then(done(i));
  const stack = render ? viewport.setStack(imageIds, 0) : Promise.resolve();
  let all;
  if (inFlight > 0) {
    // At most `inFlight` images between request and decoded image, nearest to slice 0 first, as
    // the viewer's loaders.
    let next = 0;
    const worker = async () => {
      while (next < imageIds.length) await load(next++);
    };
    all = Promise.all(Array.from({ length: inFlight }, worker));
  } else {
    // Cornerstone's own scheduling: every image asked for at once; the loader's request pool
    // (imageRetrievalPoolManager) and the browser's HTTP/2 connection decide the rest.
    all = Promise.all(imageIds.map((_, i) => load(i)));
  }
  await Promise.all([all, stack]);
  const completeMs = performance.now() - t0;
  if (render) await Promise.race([rendered, new Promise((r) => setTimeout(r, 10000))]);
  const workers = getWebWorkerManager().workerRegistry?.dicomImageLoader?.instances?.length ?? null;
  return { firstMs: firstLoadedMs, firstRenderedMs, completeMs, metadataMs, slices: imageIds.length, loaded, checksum, workers };
};
window.benchCornerstoneReady = true;
