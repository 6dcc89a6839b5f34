// Runs the whole overload simulation and judges it against the targets of
// issue 15. `bounds` are the targets themselves for `npm run overload`, and
// looser ones for test/overload.test.ts.
import { ALGORITHMS, CONTENDERS, DEFAULT_SETUP, runOne, settleTime, throttleCheck, type RunResult, type Setup } from './scenario.js';

export interface Bounds {
  /** Goodput of every AdaptiveLimiter at 2× and 5×, as a share of capacity, at least. */
  readonly goodput: number;
  /** Their p99 over the unloaded latency, at most. */
  readonly p99: number;
  /** Bulkhead(4C)'s p99 over the unloaded latency, at least. */
  readonly bulkheadP99: number;
  /** No limit: late p99 over early p99, at least (it keeps growing). */
  readonly growth: number;
  /** Ms after the halving within which the limit settles. */
  readonly settle: number;
  /** Throttled: backend received / accepted at most k × (1 + this). */
  readonly throttle: number;
}

export const TARGETS: Bounds = { goodput: 0.9, p99: 3, bulkheadP99: 4, growth: 1.5, settle: 5_000, throttle: 0.15 };

export interface Check {
  readonly name: string;
  readonly pass: boolean;
  readonly measured: string;
}

export interface Report {
  readonly setup: Setup;
  readonly loads: readonly number[];
  readonly rows: readonly RunResult[];
  readonly halved: readonly RunResult[];
  /** The unloaded latency: no limit's p50 at 0.5× load. */
  readonly unloaded: number;
  readonly checks: readonly Check[];
}

export const HALVE_AT = 10_000;
const K = 2;

export async function simulate(bounds: Bounds = TARGETS, setup: Setup = DEFAULT_SETUP, loads: readonly number[] = [0.5, 1, 2, 5]): Promise<Report> {
  const rows: RunResult[] = [];
  for (const load of loads) for (const contender of CONTENDERS) rows.push(await runOne(contender, { load }, setup));
  const halved: RunResult[] = [];
  for (const a of ALGORITHMS) halved.push(await runOne(`AdaptiveLimiter ${a}`, { load: 2, halveAt: HALVE_AT }, { ...setup, duration: Math.max(setup.duration, 2 * HALVE_AT) }));
  const throttled = await throttleCheck(true, setup, K);
  const unthrottled = await throttleCheck(false, setup, K);

  const unloadedRun = rows.find((r) => r.contender === 'no limit' && r.load === Math.min(...loads))!;
  const unloaded = unloadedRun.p50;
  const capacity = (setup.capacity / setup.baseLatency) * 1000; // calls per second
  const checks: Check[] = [];
  const check = (name: string, pass: boolean, measured: string): void => void checks.push({ name, pass, measured });
  const row = (contender: string, load: number): RunResult => rows.find((r) => r.contender === contender && r.load === load)!;
  for (const load of loads.filter((l) => l >= 2)) {
    for (const a of ALGORITHMS) {
      const r = row(`AdaptiveLimiter ${a}`, load);
      check(`${load}× AdaptiveLimiter ${a}: goodput ≥ ${bounds.goodput * 100} % of capacity`, r.goodput >= bounds.goodput * capacity, `${((100 * r.goodput) / capacity).toFixed(0)} %`);
      check(`${load}× AdaptiveLimiter ${a}: p99 ≤ ${bounds.p99}× unloaded`, r.p99 <= bounds.p99 * unloaded, `${(r.p99 / unloaded).toFixed(2)}×`);
    }
    const none = row('no limit', load);
    check(`${load}× no limit: p99 keeps growing (last quarter ≥ ${bounds.growth}× first)`, none.p99Late >= bounds.growth * none.p99Early, `${none.p99Early.toFixed(0)} → ${none.p99Late.toFixed(0)} ms`);
    const big = row('Bulkhead(4C)', load);
    check(`${load}× Bulkhead(4C): p99 ≥ ${bounds.bulkheadP99}× unloaded`, big.p99 >= bounds.bulkheadP99 * unloaded, `${(big.p99 / unloaded).toFixed(2)}×`);
  }
  for (const r of halved) {
    const ms = settleTime(r.series, HALVE_AT);
    check(`capacity halved: ${r.contender} settles within ${bounds.settle / 1000} s`, ms <= bounds.settle, `${(ms / 1000).toFixed(2)} s`);
  }
  check(
    `AdaptiveThrottle (k = ${K}), backend accepting ~10 %: received ≤ k × accepted (+${bounds.throttle * 100} %)`,
    throttled.ratio <= K * (1 + bounds.throttle),
    `${throttled.ratio.toFixed(2)}× (${throttled.received} / ${throttled.accepted}); without it ${unthrottled.ratio.toFixed(1)}×`,
  );
  return { setup, loads, rows, halved, unloaded, checks };
}

export function header(setup: Setup): string[] {
  const C = setup.capacity;
  return [
    `Overload simulation (discrete-event clock, seed ${setup.seed}, ${setup.duration / 1000} s per run, first ${setup.warmup / 1000} s left out).`,
    `Downstream: ${C} servers (capacity C = ${C} at once, ${(C / setup.baseLatency) * 1000} calls/s); each call takes ${setup.baseLatency} ms ± 20 % (uniform);`,
    '  the rest wait in an unbounded FIFO queue; it never fails, and serves calls whose caller stopped waiting (no cancellation).',
    'Callers: open loop, Poisson arrivals at 0.5×, 1×, 2×, 5× capacity; no caller retries unless said.',
    `AIMD's callers time out at ${2.5 * setup.baseLatency} ms inside the limiter (AIMD reads failures only). AdaptiveThrottle + retry`,
    `  calls its own downstream of ${C} servers with no queue that answers 503 after 1 ms when full; retry: 3 retries, 50 ms base.`,
    'goodput: successful calls ending per simulated second; p50/p99: latency of successful calls as the caller saw it;',
    'shed: calls the contender turned away at once; failed: other failures (timeouts, 503s); sent: requests the downstream got per call.',
  ];
}

export function table(report: Report): string {
  const head = ['load', 'contender', 'goodput/s', 'p50 ms', 'p99 ms', 'shed %', 'failed %', 'sent'];
  const cells = report.rows.map((r) => [
    `${r.load}×`,
    r.contender,
    r.goodput.toFixed(0),
    r.p50.toFixed(0),
    r.p99.toFixed(0),
    r.shed.toFixed(1),
    r.failed.toFixed(1),
    r.amplification.toFixed(2),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]): string => `| ${c.map((x, i) => (i < 2 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i < 2 ? ` ${'-'.repeat(w)} ` : ` ${'-'.repeat(w - 1)}: `)).join('|')}|`;
  return [line(head), rule, ...cells.map(line)].join('\n');
}
