// The pictures of the overload simulation: the limit and the p99 latency over
// time when the downstream loses half its capacity, as a coarse ASCII chart
// for the terminal and as an SVG.
import type { RunResult } from './scenario.js';

const MARKS = ['g', 'v', 'a'];
const COLOURS = ['#1f77b4', '#2ca02c', '#d62728'];

type Pick = (p: RunResult['series'][number]) => number;

/** A chart `height` rows by as many columns as points, one mark per run (its first letter). */
export function ascii(runs: readonly RunResult[], pick: Pick, title: string, height = 10, guide?: (t: number) => number): string {
  const points = runs[0]!.series;
  const step = Math.max(1, Math.ceil(points.length / 72));
  const cols = Math.ceil(points.length / step);
  let top = 0;
  for (const r of runs) for (const p of r.series) if (pick(p) > top) top = pick(p);
  if (guide) for (const p of points) top = Math.max(top, guide(p.t));
  const grid = Array.from({ length: height }, () => Array<string>(cols).fill(' '));
  const row = (v: number): number => Math.min(height - 1, Math.max(0, height - 1 - Math.round((v / top) * (height - 1))));
  if (guide) for (let c = 0; c < cols; c++) grid[row(guide(points[c * step]!.t))]![c] = '·';
  runs.forEach((r, i) => {
    for (let c = 0; c < cols; c++) {
      const v = pick(r.series[c * step]!);
      if (v === v) grid[row(v)]![c] = MARKS[i]!;
    }
  });
  const label = (i: number): string => (i === 0 ? top.toFixed(0) : i === height - 1 ? '0' : '').padStart(6);
  const end = points[points.length - 1]!.t / 1000;
  return [title, ...grid.map((line, i) => `${label(i)} |${line.join('')}`), `${' '.repeat(7)}+${'-'.repeat(cols)}`, `${' '.repeat(8)}0 s${' '.repeat(Math.max(1, cols - 8))}${end} s`].join('\n');
}

/** Two panels (limit, p99 latency) over time, one line per run, and the capacity as a dashed guide. */
export function svg(runs: readonly RunResult[], capacity: (t: number) => number, caption: string): string {
  const W = 720;
  const H = 200;
  const pad = { l: 48, r: 16, t: 28, b: 24 };
  const points = runs[0]!.series;
  const end = points[points.length - 1]!.t;
  const x = (t: number): number => pad.l + ((W - pad.l - pad.r) * t) / end;
  const panel = (offset: number, pick: Pick, label: string, guide?: (t: number) => number): string => {
    let top = 0;
    for (const r of runs) for (const p of r.series) if (pick(p) > top) top = pick(p);
    if (guide) for (const p of points) top = Math.max(top, guide(p.t));
    top = Math.ceil(top * 1.1);
    const y = (v: number): number => offset + pad.t + (H - pad.t - pad.b) * (1 - v / top);
    const path = (pick2: Pick, series: RunResult['series']): string =>
      series.filter((p) => pick2(p) === pick2(p)).map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p.t).toFixed(1)},${y(pick2(p)).toFixed(1)}`).join(' ');
    const lines = runs.map((r, i) => `<path d="${path(pick, r.series)}" fill="none" stroke="${COLOURS[i]}" stroke-width="1.5"/>`);
    if (guide) lines.push(`<path d="${path(guide === undefined ? pick : (p) => guide(p.t), points)}" fill="none" stroke="#555" stroke-dasharray="4 3"/>`);
    const ticks = [0, top / 2, top].map((v) => `<text x="${pad.l - 6}" y="${y(v) + 4}" text-anchor="end">${v.toFixed(0)}</text>`);
    return [
      `<text x="${pad.l}" y="${offset + 16}" font-weight="bold">${label}</text>`,
      `<line x1="${pad.l}" y1="${y(0)}" x2="${W - pad.r}" y2="${y(0)}" stroke="#999"/>`,
      `<line x1="${pad.l}" y1="${y(0)}" x2="${pad.l}" y2="${y(top)}" stroke="#999"/>`,
      ...ticks,
      ...lines,
    ].join('\n');
  };
  const legend = runs.map((r, i) => `<text x="${pad.l + 200 * i}" y="${2 * H + 18}" fill="${COLOURS[i]}">— ${r.contender}</text>`).join('\n');
  const seconds = [0, end / 2, end].map((t) => `<text x="${x(t)}" y="${2 * H - 6}" text-anchor="middle">${t / 1000} s</text>`).join('\n');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${2 * H + 48}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    panel(0, (p) => p.limit, 'limit (dashed: downstream capacity)', capacity),
    panel(H, (p) => p.p99, 'p99 latency, ms, per 250 ms'),
    seconds,
    legend,
    `<text x="${pad.l}" y="${2 * H + 38}" fill="#555">${caption}</text>`,
    '</svg>',
  ].join('\n');
}
