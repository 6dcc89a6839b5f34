// Timing helpers: interleaved rounds, warm-up, medians. Plain JS so the
// bench runs on the built package with no build step of its own.

/** Median of a list of numbers. */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

// Each contender gets its own loop function (compiled separately), so V8's
// type feedback at the call site stays monomorphic per contender instead of
// mixing every library into one megamorphic loop.
function makeLoop(rejects) {
  const body = rejects
    ? 'for (let i = 0; i < n; i++) { try { await call(); } catch {} }'
    : 'for (let i = 0; i < n; i++) await call();';
  // eslint-disable-next-line no-new-func
  return new Function('call', 'n', 'now', `return (async () => { const t = now(); ${body} return now() - t; })();`);
}

// CPU time of this process (all its threads, so GC helpers count), in ns. On
// a shared machine, wall time also counts the time other processes had the
// core; CPU time counts only the work done here.
const cpuNow = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) * 1e3;
};

/**
 * Measures the cost per call of each contender: `call()` is awaited `n` times
 * in a row. Contenders are measured in interleaved rounds (so a burst of load
 * on a shared machine hits all of them alike) after warm-up rounds; the
 * result is the median round, in ns per call.
 *
 * `settle` (say, a young-generation GC) runs before each timed loop, so a contender does not
 * pay for collecting the garbage the one before it left.
 *
 * @param {{ name: string, call: () => Promise<unknown>, rejects?: boolean }[]} contenders
 * @param {{ rounds: number, roundMs: number, settle?: () => void }} options
 * @returns {Promise<Map<string, number>>}
 */
export async function compare(contenders, { rounds, roundMs, settle = () => {} }) {
  const runs = contenders.map((c) => ({ ...c, loop: makeLoop(c.rejects === true), n: 0, samples: [] }));
  for (const run of runs) {
    // Calibrate: enough calls to fill roundMs, at least 500.
    await run.loop(run.call, 200, cpuNow);
    const probe = await run.loop(run.call, 2000, cpuNow);
    run.n = Math.max(500, Math.min(500_000, Math.round((roundMs * 1e6 * 2000) / Math.max(probe, 1))));
  }
  const warmup = 2;
  for (let round = 0; round < warmup + rounds; round++) {
    for (const run of round % 2 === 0 ? runs : [...runs].reverse()) {
      settle();
      const ns = (await run.loop(run.call, run.n, cpuNow)) / run.n;
      if (round >= warmup) run.samples.push(ns);
    }
  }
  return new Map(runs.map((run) => [run.name, median(run.samples)]));
}

/**
 * Runs an async function `rounds` times (after one warm-up run if `warmup`)
 * and returns the median and the best of its wall and CPU times, in ms.
 */
export async function timeRuns(fn, rounds, warmup = true) {
  if (warmup) await fn();
  const wall = [];
  const cpu = [];
  for (let i = 0; i < rounds; i++) {
    const w = performance.now();
    const c = cpuNow();
    await fn();
    cpu.push((cpuNow() - c) / 1e6);
    wall.push(performance.now() - w);
  }
  return { wall: median(wall), bestWall: Math.min(...wall), cpu: median(cpu) };
}

/** Formats ns with a sensible unit. */
export function fmtNs(ns) {
  if (!Number.isFinite(ns)) return 'n/a';
  if (Math.abs(ns) >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (Math.abs(ns) >= 1e4) return `${(ns / 1e3).toFixed(1)} µs`;
  if (Math.abs(ns) >= 1e3) return `${(ns / 1e3).toFixed(2)} µs`;
  return `${Math.round(ns)} ns`;
}

/** A plain text table; the first column left-aligned, the rest right-aligned. */
export function table(header, rows) {
  const all = [header, ...rows].map((r) => r.map(String));
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  const line = (r) => `| ${r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(all[0]), rule, ...all.slice(1).map(line)].join('\n');
}
