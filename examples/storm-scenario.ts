// A retry storm, simulated: a fleet of clients calls a service that fails
// every call for a while. Used by `npm run storm` (examples/retry-storm.ts,
// on a virtual clock) and by test/retry-storm.test.ts (on vitest's fake timers).
// It only uses setTimeout and performance.now, so either clock can drive it.
import { RetryBudget, retryWithBackoff, type PolicyContext, type RetryPolicy } from '../src/index.js';
import { createMemoryStore } from '../src/store/memory.js';

export interface StormOptions {
  /** Clients calling the service. */
  readonly clients?: number;
  /** Each client starts a call every `interval` ms (an open loop, like user traffic). */
  readonly interval?: number;
  /** Healthy time before the outage, ms. */
  readonly healthy?: number;
  /** How long every call fails, ms. */
  readonly outage?: number;
  readonly maxRetries?: number;
  /**
   * `'shared'`: one RetryBudget object for the fleet; `'per-client'`: one each;
   * `'fleet'`: one each, all sharing one store (createMemoryStore()) and key,
   * as the instances of a fleet share a Redis.
   */
  readonly budget?: 'none' | 'shared' | 'per-client' | 'fleet';
  readonly ratio?: number;
  readonly minRetriesPerSecond?: number;
}

export interface StormReport {
  readonly budget: string;
  /** First attempts the service saw during the outage. */
  readonly firstAttempts: number;
  /** Retries the service saw during the outage. */
  readonly retries: number;
  /** All attempts / first attempts during the outage. */
  readonly amplification: number;
  /** The busiest second of the outage, in attempts, over the healthy attempts per second. */
  readonly peak: number;
  /** Healthy attempts per second before the outage. */
  readonly healthyRate: number;
  /** Retries a budget refused (policies gave up with reason 'budget'). */
  readonly refused: number;
}

/** Runs the scenario; `advance(ms)` moves the clock (and settles promises) by `ms`. */
export async function runStorm(options: StormOptions, advance: (ms: number) => Promise<void>): Promise<StormReport> {
  const clients = options.clients ?? 100;
  const interval = options.interval ?? 200;
  const healthy = options.healthy ?? 2_000;
  const outage = options.outage ?? 10_000;
  const maxRetries = options.maxRetries ?? 3;
  const mode = options.budget ?? 'none';
  const budgetOptions = { ratio: options.ratio ?? 0.2, minRetriesPerSecond: options.minRetriesPerSecond ?? 10 };

  const start = performance.now();
  const end = healthy + outage;
  const perSecond: number[] = [];
  let firsts = 0;
  let retries = 0;
  let healthyAttempts = 0;
  let refused = 0;

  // The service: answers at once; fails everything during the outage.
  const service = (ctx: PolicyContext): string => {
    const t = performance.now() - start;
    if (t < healthy) {
      healthyAttempts++;
      return 'ok';
    }
    if (t < end) {
      const s = Math.floor((t - healthy) / 1_000);
      perSecond[s] = (perSecond[s] ?? 0) + 1;
      if (ctx.attempt === 1) firsts++;
      else retries++;
    }
    throw new Error('503 Service Unavailable');
  };

  const shared = mode === 'shared' ? new RetryBudget(budgetOptions) : undefined;
  const store = mode === 'fleet' ? createMemoryStore() : undefined;
  const policies: RetryPolicy[] = [];
  for (let i = 0; i < clients; i++) {
    const budget = mode === 'none' ? undefined : (shared ?? new RetryBudget(store ? { ...budgetOptions, store, key: 'storm' } : budgetOptions));
    const policy = retryWithBackoff({ maxRetries, initialDelay: 100, jitter: 'none', ...(budget ? { budget } : {}) });
    policy.on('giveUp', ({ reason }) => {
      if (reason === 'budget') refused++;
    });
    policies.push(policy);
  }

  // Each client starts a call every `interval` ms, staggered over the interval, until the outage ends.
  const calls: Promise<unknown>[] = [];
  for (let i = 0; i < clients; i++) {
    const policy = policies[i]!;
    const tick = (): void => {
      if (performance.now() - start >= end) return;
      calls.push(policy.execute(service).catch(() => undefined));
      setTimeout(tick, interval);
    };
    setTimeout(tick, (i * interval) / clients);
  }
  await advance(end + 10_000); // the outage, then time for every retry to end
  await Promise.all(calls);

  const healthyRate = healthyAttempts / (healthy / 1_000);
  return {
    budget: mode === 'none' ? 'none' : `${mode} (ratio ${budgetOptions.ratio}, floor ${budgetOptions.minRetriesPerSecond}/s)`,
    firstAttempts: firsts,
    retries,
    amplification: (firsts + retries) / firsts,
    peak: Math.max(...perSecond) / healthyRate,
    healthyRate,
    refused,
  };
}
