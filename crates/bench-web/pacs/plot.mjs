// A hand-written SVG bar chart for `cargo xtask bench pacs` (no dependencies): per path, two
// horizontal bars, time to first image and time to complete, on one millisecond scale.
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

// rows: [{label, first, complete}] (ms; null = not measured); returns the SVG text.
export function barChart(rows, title) {
  const labelW = 430;
  const plotW = 520;
  const rowH = 46;
  const top = 56;
  const height = top + rows.length * rowH + 40;
  const width = labelW + plotW + 90;
  const max = Math.max(...rows.flatMap((r) => [r.first ?? 0, r.complete ?? 0]), 1);
  // a round scale step: 1, 2 or 5 × 10^k, about 6 ticks
  const raw = max / 6;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw);
  const end = Math.ceil(max / step) * step;
  const x = (ms) => labelW + (ms / end) * plotW;
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="13">`);
  out.push(`<rect width="100%" height="100%" fill="white"/>`);
  out.push(`<text x="10" y="22" font-size="15" font-weight="bold">${esc(title)}</text>`);
  out.push(`<rect x="${labelW}" y="32" width="12" height="10" fill="#4a90d9"/><text x="${labelW + 16}" y="41">time to first image</text>`);
  out.push(`<rect x="${labelW + 170}" y="32" width="12" height="10" fill="#1f3f6e"/><text x="${labelW + 186}" y="41">time to complete (every slice decoded)</text>`);
  for (let t = 0; t <= end + 1e-9; t += step) {
    const xx = x(t).toFixed(1);
    out.push(`<line x1="${xx}" y1="${top - 4}" x2="${xx}" y2="${top + rows.length * rowH}" stroke="#ddd"/>`);
    out.push(`<text x="${xx}" y="${top + rows.length * rowH + 16}" text-anchor="middle" fill="#555">${t >= 1000 ? `${t / 1000} s` : `${t} ms`}</text>`);
  }
  rows.forEach((r, i) => {
    const y = top + i * rowH;
    out.push(`<text x="${labelW - 8}" y="${y + 24}" text-anchor="end">${esc(r.label)}</text>`);
    const bar = (v, dy, colour) => {
      if (v == null) {
        out.push(`<text x="${labelW + 4}" y="${y + dy + 12}" fill="#888">–</text>`);
        return;
      }
      out.push(`<rect x="${labelW}" y="${y + dy}" width="${Math.max(1, x(v) - labelW).toFixed(1)}" height="16" fill="${colour}"/>`);
      out.push(`<text x="${(x(v) + 4).toFixed(1)}" y="${y + dy + 12}" fill="#333">${v.toFixed(0)}</text>`);
    };
    bar(r.first, 4, '#4a90d9');
    bar(r.complete, 22, '#1f3f6e');
  });
  out.push(`<line x1="${labelW}" y1="${top - 4}" x2="${labelW}" y2="${top + rows.length * rowH}" stroke="#333"/>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}
