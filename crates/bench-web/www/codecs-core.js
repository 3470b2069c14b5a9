// The timing loop of `cargo xtask bench codecs`, run as is on the main thread (codecs.js) and in a
// module worker (codecs-worker.js). `wasm` is our module (decodeDicom: obscura_imaging::decode of
// one Part 10 file), `peer` the Cornerstone bundle (parseAndDecode: dicomParser + the wadouri frame
// extraction + the dicom-image-loader worker's decodeImageFrame). Numbers only: nothing here
// judges a time.

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function message(e) {
  return String(e?.message ?? e).split('\n')[0];
}

// Largest |a[i] - b[i]| and how many samples differ (a length mismatch counts every sample).
function diff(a, b) {
  if (a.length !== b.length) return { max: Infinity, count: Math.max(a.length, b.length), lengths: [a.length, b.length] };
  let max = 0;
  let count = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (d) {
      count++;
      if (d > max) max = d;
    }
  }
  return { max, count };
}

function merge(acc, d) {
  if (!d) return acc;
  return { max: Math.max(acc.max, d.max), count: acc.count + d.count, lengths: acc.lengths || d.lengths };
}

// Times `pass` (one pass over every file) `reps` times; median and best in ms per pass.
async function timed(pass, reps) {
  const ms = [];
  for (let r = 0; r < reps; r++) {
    const t = performance.now();
    await pass();
    ms.push(performance.now() - t);
  }
  return ms;
}

// rows: [{ name, transferSyntax, label, lossless, files: [Uint8Array] }]; the first row must be the
// uncompressed source (its stored values are the reference of the lossless rows).
export async function runCodecs({ wasm, peer, rows, reps = 7, warmups = 3, log = () => {} }) {
  const source = rows[0].files.map((f) => {
    wasm.decodeDicom(f);
    return wasm.decodedStoredValues();
  });
  const results = [];
  for (const row of rows) {
    const { files } = row;
    const res = { name: row.name, transferSyntax: row.transferSyntax, label: row.label, lossless: row.lossless, frames: files.length };

    // Warm-up and cross-check: each file through both sides, stored values compared.
    let oursError = null;
    let peerError = null;
    let vsPeer = { max: 0, count: 0 };
    let oursVsSource = { max: 0, count: 0 };
    let peerVsSource = { max: 0, count: 0 };
    for (let i = 0; i < files.length; i++) {
      let ours = null;
      let theirs = null;
      if (!oursError) {
        try {
          wasm.decodeDicom(files[i]);
          ours = wasm.decodedStoredValues();
        } catch (e) {
          oursError = message(e);
        }
      }
      if (!peerError) {
        try {
          theirs = (await peer.parseAndDecode(files[i])).pixelData;
        } catch (e) {
          peerError = message(e);
        }
      }
      if (ours && theirs) vsPeer = merge(vsPeer, diff(ours, theirs));
      if (row.lossless && ours) oursVsSource = merge(oursVsSource, diff(ours, source[i]));
      if (row.lossless && theirs) peerVsSource = merge(peerVsSource, diff(theirs, source[i]));
    }
    res.ours = { supported: !oursError, error: oursError };
    res.peer = { supported: !peerError, error: peerError };
    if (!oursError && !peerError) res.oursVsPeer = vsPeer;
    if (row.lossless && !oursError) res.oursVsSource = oursVsSource;
    if (row.lossless && !peerError) res.peerVsSource = peerVsSource;

    const oursPass = () => { for (const f of files) wasm.decodeDicom(f); };
    const peerPass = async () => { for (const f of files) await peer.parseAndDecode(f); };
    const peerParsePass = () => { for (const f of files) peer.parse(f); };
    for (let w = 0; w < warmups; w++) {
      if (!oursError) oursPass();
      if (!peerError) await peerPass();
    }
    // Alternate the sides, one pass each per repetition, the order flipped every repetition.
    const ms = { ours: [], peer: [], peerParse: [] };
    for (let r = 0; r < reps; r++) {
      const sides = r % 2 ? ['peer', 'ours'] : ['ours', 'peer'];
      for (const side of sides) {
        if (side === 'ours' && !oursError) ms.ours.push(...await timed(oursPass, 1));
        if (side === 'peer' && !peerError) ms.peer.push(...await timed(peerPass, 1));
      }
      if (!peerError) ms.peerParse.push(...await timed(peerParsePass, 1));
    }
    for (const side of ['ours', 'peer']) {
      if (!ms[side].length) continue;
      const m = median(ms[side]);
      Object.assign(res[side], {
        medianMs: m, framesPerS: files.length / (m / 1000), msPerFrame: m / files.length,
        bestFramesPerS: files.length / (Math.min(...ms[side]) / 1000), samplesMs: ms[side],
      });
    }
    if (ms.peerParse.length) res.peer.parseMsPerFrame = median(ms.peerParse) / files.length;
    log(`${row.transferSyntax} ${row.name}: ours ${res.ours.framesPerS ? res.ours.framesPerS.toFixed(0) + ' frames/s' : 'not supported'}, ` +
      `peer ${res.peer.framesPerS ? res.peer.framesPerS.toFixed(0) + ' frames/s' : 'failed'}`);
    results.push(res);
  }
  return results;
}
