// Runner of `cargo xtask bench codecs`: serves BENCH_SITE (the bench site with inputs/) on
// 127.0.0.1, opens codecs.html in Debian's headless Chromium, runs the decode benchmark (in a Web
// Worker, then on the main thread) and prints frames/s per transfer syntax, ours against
// Cornerstone's, with a cross-check of the stored values. Prints numbers; asserts nothing about
// time, and a difference in values is reported, not fatal.
import fs from 'node:fs';
import { withBenchPage } from './serve.mjs';

const opts = {
  reps: Number(process.env.BENCH_REPS || 7),
  warmups: Number(process.env.BENCH_WARMUPS || 3),
  main: process.env.BENCH_MAIN_THREAD !== '0',
};

const { out, version } = await withBenchPage('codecs.html', async (page) => {
  await page.waitForFunction(() => typeof window.runCodecBench === 'function');
  return page.evaluate((o) => window.runCodecBench(o), opts);
});
out.chromium = version;

// The reason our decoder gives, without the advice around it (the full text is in the JSON).
const reason = (e) => (/\(frame \d+: (.*?)\);/.exec(e) || [null, e])[1];
const fps = (s) => (s.framesPerS >= 100 ? s.framesPerS.toFixed(0) : s.framesPerS.toFixed(1));

// "values equal" / "DIFFER (max abs diff N, K samples)" for one comparison.
function verdict(d) {
  if (!d) return null;
  if (d.count === 0) return 'values equal';
  if (d.lengths) return `DIFFER (lengths ${d.lengths.join(' vs ')})`;
  return `DIFFER (max abs diff ${d.max}, ${d.count} samples)`;
}

// One line per transfer syntax: the table of docs/BENCHMARKS.md, also as JSON (`table`).
function table(results, inputs) {
  const lines = [];
  for (const r of results) {
    const input = inputs.find((i) => i.name === r.name);
    const kib = (input.bytes / input.files / 1024).toFixed(0);
    const ours = r.ours.supported ? `${fps(r.ours)} (${r.ours.msPerFrame.toFixed(2)} ms)` : `not supported yet (${reason(r.ours.error)})`;
    const peer = r.peer.supported ? `${fps(r.peer)} (${r.peer.msPerFrame.toFixed(2)} ms, parse ${r.peer.parseMsPerFrame.toFixed(2)})` : `failed (${r.peer.error})`;
    const ratio = r.ours.supported && r.peer.supported ? (r.ours.framesPerS / r.peer.framesPerS).toFixed(2) : '–';
    let check = r.ours.supported && r.peer.supported ? verdict(r.oursVsPeer) : '–';
    const src = [];
    if (r.lossless && r.ours.supported && r.oursVsSource.count) src.push(`ours vs source ${verdict(r.oursVsSource)}`);
    if (r.lossless && r.peer.supported && r.peerVsSource.count) src.push(`Cornerstone vs source ${verdict(r.peerVsSource)}`);
    if (src.length) check += `; ${src.join('; ')}`;
    lines.push({ transferSyntax: r.transferSyntax, what: r.label, kib, ours, peer, ratio, check });
  }
  return lines;
}

function print(title, lines) {
  console.log(`\n${title}`);
  const head = { transferSyntax: 'transfer syntax', what: 'input', kib: 'KiB/frame', ours: 'ours frames/s (ms/frame)', peer: 'Cornerstone frames/s (ms/frame, of which parse)', ratio: 'ours/theirs', check: 'stored values, ours vs Cornerstone' };
  const cols = Object.keys(head);
  const width = Object.fromEntries(cols.map((c) => [c, Math.max(head[c].length, ...lines.map((l) => String(l[c]).length))]));
  const fmt = (l) => cols.map((c) => String(l[c]).padEnd(c === 'check' ? 0 : width[c])).join('  ');
  console.log(fmt(head));
  for (const l of lines) console.log(fmt(l));
}

console.log(`\nChromium ${version} headless, ${out.cores} logical cores; ${out.slices} slices of the synthetic 512×512 ` +
  `16-bit signed CT per transfer syntax, parse + decode of each DICOM Part 10 file; median of ${out.reps} alternating ` +
  `passes after ${out.warmups} warm-up passes (frames/s over the pass; best in the JSON)`);
out.table = { worker: table(out.worker, out.inputs) };
print('In a Web Worker (both sides):', out.table.worker);
if (out.main) {
  out.table.main = table(out.main, out.inputs);
  print('On the main thread (both sides):', out.table.main);
}
if (process.env.BENCH_JSON) fs.writeFileSync(process.env.BENCH_JSON, JSON.stringify(out, null, 2));
