/**
 * Plots as standalone SVG text (no script, no external font or stylesheet), so the report's HTML page can inline
 * them and its Markdown can link them. Two kinds: line charts (loss curves, spectra, degeneration curves) and
 * interval charts (a dot and its 95% interval per condition).
 */
const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
const FONT = 'font-family="sans-serif" font-size="11"';

export interface LineSeries {
  name: string;
  points: readonly (readonly [number, number])[];
  dashed?: boolean;
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly LineSeries[];
  logY?: boolean;
  width?: number;
  height?: number;
}

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** About five round tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

const tickLabel = (t: number) => (Math.abs(t) >= 1e4 || (t !== 0 && Math.abs(t) < 1e-3) ? t.toExponential(1) : String(Number(t.toPrecision(4))));

export function lineChart(options: LineChartOptions): string {
  const width = options.width ?? 640;
  // Three legend entries a row, two when a name would run into the next column.
  const columns = options.series.some((s) => s.name.length > 26) ? 2 : 3;
  const legendRows = Math.ceil(options.series.length / columns);
  const height = (options.height ?? 340) + 16 * legendRows;
  const m = { left: 62, right: 16, top: 30, bottom: 44 + 16 * legendRows };
  const w = width - m.left - m.right;
  const h = height - m.top - m.bottom;
  const all = options.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!options.logY || y > 0));
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeXml(options.title)}">`];
  out.push(`<rect width="${width}" height="${height}" fill="#fff"/>`);
  out.push(`<text x="${width / 2}" y="18" text-anchor="middle" font-family="sans-serif" font-size="13" font-weight="bold">${escapeXml(options.title)}</text>`);
  if (all.length === 0) {
    out.push(`<text x="${width / 2}" y="${height / 2}" text-anchor="middle" ${FONT}>no data</text></svg>`);
    return out.join('\n');
  }
  const fy = (y: number) => (options.logY ? Math.log10(y) : y);
  let [x0, x1] = [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))];
  let [y0, y1] = [Math.min(...all.map((p) => fy(p[1]))), Math.max(...all.map((p) => fy(p[1])))];
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) [y0, y1] = [y0 - 0.5, y1 + 0.5];
  const pad = (y1 - y0) * 0.05;
  [y0, y1] = [y0 - pad, y1 + pad];
  const sx = (x: number) => m.left + ((x - x0) / (x1 - x0)) * w;
  const sy = (y: number) => m.top + h - ((fy(y) - y0) / (y1 - y0)) * h;
  out.push(`<rect x="${m.left}" y="${m.top}" width="${w}" height="${h}" fill="none" stroke="#999"/>`);
  for (const t of niceTicks(x0, x1)) {
    const x = sx(t).toFixed(1);
    out.push(`<line x1="${x}" y1="${m.top + h}" x2="${x}" y2="${m.top + h + 4}" stroke="#666"/><text x="${x}" y="${m.top + h + 16}" text-anchor="middle" ${FONT}>${tickLabel(t)}</text>`);
  }
  for (const t of niceTicks(y0, y1)) {
    const value = options.logY ? 10 ** t : t;
    const y = (m.top + h - ((t - y0) / (y1 - y0)) * h).toFixed(1);
    out.push(`<line x1="${m.left - 4}" y1="${y}" x2="${m.left + w}" y2="${y}" stroke="#eee"/><text x="${m.left - 6}" y="${Number(y) + 4}" text-anchor="end" ${FONT}>${tickLabel(value)}</text>`);
  }
  out.push(`<text x="${m.left + w / 2}" y="${m.top + h + 32}" text-anchor="middle" ${FONT}>${escapeXml(options.xLabel)}</text>`);
  out.push(`<text transform="translate(14 ${m.top + h / 2}) rotate(-90)" text-anchor="middle" ${FONT}>${escapeXml(options.yLabel + (options.logY ? ' (log scale)' : ''))}</text>`);
  options.series.forEach((s, k) => {
    const color = PALETTE[k % PALETTE.length];
    const pts = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!options.logY || y > 0));
    if (pts.length > 0)
      out.push(`<polyline fill="none" stroke="${color}" stroke-width="1.6"${s.dashed ? ' stroke-dasharray="5 3"' : ''} points="${pts.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ')}"/>`);
    const lx = m.left + (k % columns) * (w / columns);
    const ly = height - 10 - 16 * (legendRows - 1 - Math.floor(k / columns));
    out.push(`<line x1="${lx}" y1="${ly - 4}" x2="${lx + 18}" y2="${ly - 4}" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/><text x="${lx + 22}" y="${ly}" ${FONT}>${escapeXml(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}

export interface IntervalRow {
  name: string;
  value: number;
  low: number;
  high: number;
}

/** One row per condition: its value as a dot, its 95% interval as a bar. */
export function intervalChart(options: { title: string; xLabel: string; rows: readonly IntervalRow[]; width?: number }): string {
  const width = options.width ?? 640;
  const rowHeight = 20;
  const m = { left: 230, right: 20, top: 30, bottom: 40 };
  const height = m.top + m.bottom + rowHeight * Math.max(1, options.rows.length);
  const w = width - m.left - m.right;
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeXml(options.title)}">`];
  out.push(`<rect width="${width}" height="${height}" fill="#fff"/>`);
  out.push(`<text x="${width / 2}" y="18" text-anchor="middle" font-family="sans-serif" font-size="13" font-weight="bold">${escapeXml(options.title)}</text>`);
  const finite = options.rows.flatMap((r) => [r.value, r.low, r.high]).filter(Number.isFinite);
  if (finite.length === 0) {
    out.push(`<text x="${width / 2}" y="${height / 2}" text-anchor="middle" ${FONT}>no data</text></svg>`);
    return out.join('\n');
  }
  let [x0, x1] = [Math.min(...finite), Math.max(...finite)];
  if (x1 === x0) [x0, x1] = [x0 - 0.5, x1 + 0.5];
  const pad = (x1 - x0) * 0.05;
  [x0, x1] = [x0 - pad, x1 + pad];
  const sx = (x: number) => m.left + ((x - x0) / (x1 - x0)) * w;
  const bottom = height - m.bottom;
  out.push(`<rect x="${m.left}" y="${m.top}" width="${w}" height="${bottom - m.top}" fill="none" stroke="#999"/>`);
  for (const t of niceTicks(x0, x1)) {
    const x = sx(t).toFixed(1);
    out.push(`<line x1="${x}" y1="${m.top}" x2="${x}" y2="${bottom + 4}" stroke="#eee"/><text x="${x}" y="${bottom + 16}" text-anchor="middle" ${FONT}>${tickLabel(t)}</text>`);
  }
  out.push(`<text x="${m.left + w / 2}" y="${bottom + 32}" text-anchor="middle" ${FONT}>${escapeXml(options.xLabel)}</text>`);
  options.rows.forEach((r, k) => {
    const y = m.top + rowHeight * k + rowHeight / 2;
    out.push(`<text x="${m.left - 6}" y="${y + 4}" text-anchor="end" ${FONT}>${escapeXml(r.name)}</text>`);
    if (Number.isFinite(r.low) && Number.isFinite(r.high))
      out.push(`<line x1="${sx(r.low).toFixed(1)}" y1="${y}" x2="${sx(r.high).toFixed(1)}" y2="${y}" stroke="${PALETTE[0]}" stroke-width="2"/>`);
    if (Number.isFinite(r.value)) out.push(`<circle cx="${sx(r.value).toFixed(1)}" cy="${y}" r="3.5" fill="${PALETTE[1]}"/>`);
  });
  out.push('</svg>');
  return out.join('\n');
}
