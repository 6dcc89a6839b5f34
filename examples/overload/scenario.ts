// The overload simulation: open-loop callers (Poisson arrivals, seeded) call a
// simulated downstream through each contender. Used by `npm run overload`
// (examples/overload/main.ts) and by test/overload.test.ts, on the same
// discrete-event clock (clock.ts), with the same code.
import {
  AdaptiveLimiter,
  AdaptiveThrottle,
  Bulkhead,
  retryWithBackoff,
  withTimeout,
  wrap,
  type AdaptiveLimitAlgorithm,
  type Policy,
} from '../../src/index.js';
import { seededRandom } from '../../src/internal/random.js';
import { VirtualClock } from './clock.js';
import { QueueingDownstream, RejectingDownstream } from './downstream.js';

export type ContenderName = 'no limit' | 'Bulkhead(C/2)' | 'Bulkhead(4C)' | `AdaptiveLimiter ${AdaptiveLimitAlgorithm}` | 'AdaptiveThrottle + retry';

export const ALGORITHMS: readonly AdaptiveLimitAlgorithm[] = ['gradient', 'vegas', 'aimd'];
export const CONTENDERS: readonly ContenderName[] = [
  'no limit',
  'Bulkhead(C/2)',
  'Bulkhead(4C)',
  ...ALGORITHMS.map((a) => `AdaptiveLimiter ${a}` as const),
  'AdaptiveThrottle + retry',
];

export interface Setup {
  /** Servers of the downstream: requests it serves at once. */
  readonly capacity: number;
  /** Service time of one request, ms (± 20 %). */
  readonly baseLatency: number;
  /** Simulated ms per run. */
  readonly duration: number;
  /** Ms at the start left out of the figures (the contenders find their feet). */
  readonly warmup: number;
  readonly seed: number;
}

export const DEFAULT_SETUP: Setup = { capacity: 40, baseLatency: 100, duration: 20_000, warmup: 2_000, seed: 15 };

export interface Point {
  /** Ms since the run started. */
  readonly t: number;
  /** The contender's limit then (an AdaptiveLimiter's), else NaN. */
  readonly limit: number;
  /** p99 latency of the calls that succeeded in the bucket that ends at `t` (ms), NaN if none. */
  readonly p99: number;
}

export interface RunResult {
  readonly contender: ContenderName;
  readonly load: number;
  /** Successful calls that ended after the warm-up, per second of simulated time. */
  readonly goodput: number;
  /** Latency of those calls as the caller saw it (queueing in the contender included), ms. */
  readonly p50: number;
  readonly p99: number;
  /** p99 of the calls that ended in the first and in the last quarter after the warm-up. */
  readonly p99Early: number;
  readonly p99Late: number;
  /** Calls the contender turned away (a full limiter or bulkhead, a throttle), per cent of calls. */
  readonly shed: number;
  /** Calls that failed otherwise (a timeout, the downstream's 503 after retries), per cent of calls. */
  readonly failed: number;
  /** Requests the downstream received / calls made. */
  readonly amplification: number;
  readonly series: readonly Point[];
}

interface Built {
  readonly policy: Policy;
  readonly limiter?: AdaptiveLimiter;
  /** The downstream this contender calls. */
  readonly call: () => Promise<void>;
  readonly received: () => number;
  readonly shed: (error: unknown) => boolean;
}

const isShed = (error: unknown): boolean => {
  const name = (error as { name?: unknown } | null)?.name;
  return name === 'BulkheadRejectedError' || name === 'ThrottledError';
};

function build(name: ContenderName, setup: Setup, random: () => number, downstream: QueueingDownstream): Built {
  const C = setup.capacity;
  const base = { call: downstream.call, received: () => downstream.received, shed: isShed };
  switch (name) {
    case 'no limit':
      return { ...base, policy: wrap() };
    case 'Bulkhead(C/2)':
      return { ...base, policy: new Bulkhead({ maxConcurrent: C / 2 }) };
    case 'Bulkhead(4C)':
      return { ...base, policy: new Bulkhead({ maxConcurrent: 4 * C }) };
    case 'AdaptiveThrottle + retry': {
      // Its own downstream: one that rejects when overloaded, which is what a throttle reads.
      const rejecting = new RejectingDownstream(C, setup.baseLatency, seededRandom(setup.seed + 1));
      const policy = wrap(retryWithBackoff({ maxRetries: 3, initialDelay: 50, random }), new AdaptiveThrottle({ window: 5_000, random }));
      return { policy, call: rejecting.call, received: () => rejecting.received, shed: isShed };
    }
    default: {
      const algorithm = name.slice('AdaptiveLimiter '.length) as AdaptiveLimitAlgorithm;
      const limiter = new AdaptiveLimiter({ algorithm });
      // AIMD reads failures only: its callers time out at 2.5 × the base latency (the downstream still serves those requests).
      const policy = algorithm === 'aimd' ? wrap(limiter, withTimeout(2.5 * setup.baseLatency)) : limiter;
      return { ...base, policy, limiter };
    }
  }
}

export interface RunOptions {
  /** Offered load as a multiple of the downstream's capacity (capacity / base latency calls per ms). */
  readonly load: number;
  /** At this ms the downstream loses half its servers. */
  readonly halveAt?: number;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/** One contender at one load, on a fresh virtual clock. */
export async function runOne(contender: ContenderName, options: RunOptions, setup: Setup = DEFAULT_SETUP): Promise<RunResult> {
  const clock = new VirtualClock().install();
  try {
    // Separate streams: every contender sees the same arrivals and the same service times.
    const arrivals = seededRandom(setup.seed);
    const downstream = new QueueingDownstream(setup.capacity, setup.baseLatency, seededRandom(setup.seed + 1));
    const built = build(contender, setup, seededRandom(setup.seed + 2), downstream);
    const rate = (options.load * setup.capacity) / setup.baseLatency; // calls per ms
    const { duration, warmup } = setup;
    const latencies: number[] = [];
    const ends: number[] = [];
    let calls = 0;
    let shed = 0;
    let failed = 0;
    const bucketMs = 250;
    const buckets: number[][] = [];
    const limits: number[] = [];

    const arrive = (): void => {
      const started = performance.now();
      const counted = started >= warmup;
      if (counted) calls++;
      built.policy.execute(built.call).then(
        () => {
          const end = performance.now();
          (buckets[Math.floor(end / bucketMs)] ??= []).push(end - started);
          // Counted by when they end: goodput is what the downstream delivered in the window.
          if (end >= warmup && end <= duration) {
            latencies.push(end - started);
            ends.push(end);
          }
        },
        (error: unknown) => {
          if (!counted) return;
          if (built.shed(error)) shed++;
          else failed++;
        },
      );
    };
    // Open loop: Poisson arrivals; callers never wait for each other. Those that fall in the same millisecond start together.
    let next = -Math.log(1 - arrivals()) / rate;
    const tick = (): void => {
      do {
        arrive();
        next += -Math.log(1 - arrivals()) / rate;
      } while (Math.ceil(next) <= performance.now());
      if (next < duration) setTimeout(tick, next - performance.now());
    };
    setTimeout(tick, next);
    let received0 = 0;
    for (let t = 0; t < duration; t += bucketMs) {
      if (options.halveAt !== undefined && t === options.halveAt) downstream.capacity = setup.capacity / 2;
      if (t === warmup) received0 = built.received();
      await clock.run(t + bucketMs);
      limits.push(built.limiter?.limit ?? NaN);
    }

    const measured = (duration - warmup) / 1000;
    const all = Float64Array.from(latencies).sort();
    const quarter = (duration - warmup) / 4;
    const within = (from: number, to: number): Float64Array =>
      Float64Array.from(latencies.filter((_, i) => ends[i]! >= from && ends[i]! < to)).sort();
    const series: Point[] = limits.map((limit, i) => ({
      t: (i + 1) * bucketMs,
      limit,
      p99: percentile(Float64Array.from(buckets[i] ?? []).sort(), 0.99),
    }));
    return {
      contender,
      load: options.load,
      goodput: latencies.length / measured,
      p50: percentile(all, 0.5),
      p99: percentile(all, 0.99),
      p99Early: percentile(within(warmup, warmup + quarter), 0.99),
      p99Late: percentile(within(duration - quarter, duration), 0.99),
      shed: calls > 0 ? (100 * shed) / calls : 0,
      failed: calls > 0 ? (100 * failed) / calls : 0,
      amplification: calls > 0 ? (built.received() - received0) / calls : 0,
      series,
    };
  } finally {
    clock.uninstall();
  }
}

/** When the limit settled after the halving: ms from `halveAt` until it stays within ±25 % of its final level. */
export function settleTime(series: readonly Point[], halveAt: number): number {
  const after = series.filter((p) => p.t > halveAt);
  const tail = after.slice(-Math.max(1, Math.floor(after.length / 4))).map((p) => p.limit).sort((a, b) => a - b);
  const final = tail[tail.length >> 1]!;
  let settledAt = halveAt;
  for (const p of after) if (Math.abs(p.limit - final) > 0.25 * final) settledAt = p.t;
  return settledAt - halveAt;
}

export interface ThrottleCheck {
  readonly throttled: boolean;
  readonly received: number;
  readonly accepted: number;
  /** received / accepted over the steady state. */
  readonly ratio: number;
}

/**
 * The SRE steady state: callers offer 10 × what a rejecting backend can
 * take (so it accepts about 10 % of what it is sent without a throttle), each call retried up
 * to 3 times; counted after the throttle's window has filled.
 */
export async function throttleCheck(throttled: boolean, setup: Setup = DEFAULT_SETUP, k = 2): Promise<ThrottleCheck> {
  const clock = new VirtualClock().install();
  try {
    const arrivals = seededRandom(setup.seed);
    const random = seededRandom(setup.seed + 2);
    const capacity = 4;
    const backend = new RejectingDownstream(capacity, setup.baseLatency, seededRandom(setup.seed + 1));
    const window = 5_000;
    const retry = retryWithBackoff({ maxRetries: 3, initialDelay: 50, random });
    const policy = throttled ? wrap(retry, new AdaptiveThrottle({ k, window, random })) : retry;
    const rate = (10 * capacity) / setup.baseLatency;
    const duration = 4 * window;
    let next = 0;
    const tick = (): void => {
      policy.execute(backend.call).catch(() => {});
      next += -Math.log(1 - arrivals()) / rate;
      if (next < duration) setTimeout(tick, next - performance.now());
    };
    tick();
    await clock.run(2 * window);
    const r0 = backend.received;
    const a0 = backend.accepted;
    await clock.run(duration);
    const received = backend.received - r0;
    const accepted = backend.accepted - a0;
    return { throttled, received, accepted, ratio: received / accepted };
  } finally {
    clock.uninstall();
  }
}
