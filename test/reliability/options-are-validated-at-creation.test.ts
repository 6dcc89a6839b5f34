// Failure mode: a bad option (a string, NaN, a negative delay) is accepted
// and surfaces later as a hang, a busy loop or a crash far from its cause;
// or `{ key: undefined }` (what `{ ...defaults, ...userOptions }` produces)
// is taken as a value instead of "use the default".
import { describe, expect, it, vi } from 'vitest';
import {
  AdaptiveThrottle,
  Bulkhead,
  BulkheadRejectedError,
  CircuitBreaker,
  RateLimiter,
  RetryBudget,
  TimeoutError,
  chaos,
  hedge,
  resilientFetch,
  retryWithBackoff,
  withFallback,
  withTimeout,
  wrap,
  type AdaptiveThrottleOptions,
  type BulkheadOptions,
  type ChaosOptions,
  type CircuitBreakerOptions,
  type FallbackOptions,
  type HedgeOptions,
  type RateLimiterOptions,
  type ResilientFetchOptions,
  type RetryBudgetOptions,
  type RetryOptions,
  type TimeoutOptions,
} from '../../src/index.js';

// Plain JavaScript (or `{ ...defaults, ...user }`) produces keys set to undefined;
// under exactOptionalPropertyTypes TypeScript refuses to write them, so they are cast.
const loose = <O>(options: Record<string, unknown>): O => options as O;

/** Kinds of option, each with values it must refuse. */
const NUMBER = ['5', null, {}, true, NaN, -1, -Infinity];
const refuse = {
  /** A duration or count: >= 0, finite. */
  finite: [...NUMBER, Infinity],
  /** >= 0, Infinity allowed. */
  unbounded: NUMBER,
  /** A whole number >= 0, Infinity allowed. */
  count: [...NUMBER, 1.5],
  /** A whole number >= 1, finite. */
  positiveCount: [...NUMBER, 0, 1.5, Infinity],
  /** A duration > 0, finite. */
  positive: [...NUMBER, 0, Infinity],
  /** A rate in [0, 1]. */
  rate: [...NUMBER, 1.5, Infinity],
  /** A number >= 1, finite. */
  factor: [...NUMBER, 0, 0.5, Infinity],
  /** A ratio in (0, 1]. */
  ratio: [...NUMBER, 0, 1.5, Infinity],
  fn: ['x', 5, {}, null, true],
  enum: ['bogus', 5, null, {}],
  object: ['x', 5, null, true],
} as const;

interface Table {
  readonly create: (options: unknown) => unknown;
  /** Valid values for options that the others need (the required ones among them). */
  readonly base?: Record<string, unknown>;
  /** Options without a default: leaving them out, or undefined, is an error naming them. */
  readonly required?: readonly string[];
  /** Option name → the kind of value it takes (extra values it must refuse may follow). */
  readonly options: Record<string, readonly unknown[]>;
}

const tables: Record<string, Table> = {
  retryWithBackoff: {
    create: (o) => retryWithBackoff(o as RetryOptions),
    options: {
      maxRetries: refuse.count,
      initialDelay: refuse.finite,
      multiplier: refuse.factor,
      maxDelay: refuse.unbounded,
      jitter: refuse.enum,
      delay: refuse.fn,
      maxElapsedTime: refuse.unbounded,
      retryAfter: refuse.fn,
      handle: refuse.fn,
      handleResult: refuse.fn,
      budget: [...refuse.object, {}, { tryRetry: () => true }],
      random: refuse.fn,
    },
  },
  withTimeout: {
    create: (o) => withTimeout(1_000, o as TimeoutOptions),
    options: { strategy: refuse.enum },
  },
  hedge: {
    create: (o) => hedge(o as HedgeOptions),
    base: { delay: 10 },
    required: ['delay'],
    options: {
      delay: refuse.unbounded,
      maxHedges: [...refuse.count, Infinity],
      handle: refuse.fn,
      handleResult: refuse.fn,
      budget: [...refuse.object, {}, { tryRetry: () => true }],
    },
  },
  RetryBudget: {
    create: (o) => new RetryBudget(o as RetryBudgetOptions),
    options: { ratio: refuse.finite, minRetriesPerSecond: refuse.finite, window: [...refuse.finite, 0] },
  },
  CircuitBreaker: {
    create: (o) => new CircuitBreaker(o as CircuitBreakerOptions),
    base: { slowCallDuration: 1_000 },
    options: {
      failureThreshold: [...NUMBER, 0, 1.5],
      failureRateThreshold: refuse.ratio,
      minimumCalls: [...refuse.positiveCount, 101], // more than windowSize (100) could never trip
      windowSize: refuse.positiveCount,
      windowDuration: refuse.positive,
      slowCallDuration: refuse.unbounded,
      slowCallRateThreshold: refuse.ratio,
      openDuration: refuse.unbounded,
      halfOpenMaxCalls: refuse.positiveCount,
      successThreshold: refuse.positiveCount,
      handle: refuse.fn,
      handleResult: refuse.fn,
      initialState: ['x', 5, true, null, {}, { version: 1, state: 'bogus' }],
    },
  },
  Bulkhead: {
    create: (o) => new Bulkhead(o as BulkheadOptions),
    base: { maxConcurrent: 2 },
    required: ['maxConcurrent'],
    options: { maxConcurrent: refuse.positiveCount, maxQueue: refuse.count, queueTimeout: refuse.unbounded },
  },
  RateLimiter: {
    create: (o) => new RateLimiter(o as RateLimiterOptions),
    base: { limit: 5, interval: 1_000 },
    required: ['limit', 'interval'],
    options: { limit: refuse.positiveCount, interval: refuse.positive, maxWait: refuse.unbounded },
  },
  chaos: {
    create: (o) => chaos(o as ChaosOptions),
    base: { latency: 1, result: 'r' },
    options: {
      enabled: ['x', 5, null, {}],
      faultRate: refuse.rate,
      error: [],
      latencyRate: refuse.rate,
      latency: [...NUMBER, [1], [2, 1], [NaN, 1]],
      resultRate: refuse.rate,
      result: [],
      seed: ['5', null, {}, NaN, Infinity],
      random: refuse.fn,
    },
  },
  resilientFetch: {
    create: (o) => resilientFetch(undefined, o as ResilientFetchOptions),
    options: {
      fetch: refuse.fn,
      timeout: refuse.unbounded,
      retryMethods: ['GET', 5, {}, [5], null],
      maxRetryAfter: refuse.unbounded,
    },
  },
  withFallback: {
    create: (o) => withFallback('fallback', o as FallbackOptions),
    options: { handle: refuse.fn, handleResult: refuse.fn },
  },
  AdaptiveThrottle: {
    create: (o) => new AdaptiveThrottle(o as AdaptiveThrottleOptions),
    options: {
      k: refuse.factor,
      window: refuse.positive,
      maxRejectionRate: refuse.rate,
      random: refuse.fn,
      handle: refuse.fn,
      handleResult: refuse.fn,
    },
  },
};

describe('options', () => {
  for (const [owner, table] of Object.entries(tables)) {
    describe(owner, () => {
      it('accepts every option set to undefined, and no options at all', () => {
        const optional = Object.keys(table.options).filter((name) => !(table.required ?? []).includes(name));
        const allUndefined = Object.fromEntries(optional.map((name) => [name, undefined]));
        expect(() => table.create({ ...allUndefined, ...table.base })).not.toThrow();
        expect(() => table.create({ ...table.base })).not.toThrow();
      });

      it('rejects options that are not an object, naming the policy', () => {
        for (const bad of [5, 'x', null, true]) {
          expect(() => table.create(bad as never), String(bad)).toThrow(TypeError);
          expect(() => table.create(bad as never), String(bad)).toThrow(owner);
        }
      });

      for (const name of table.required ?? []) {
        it(`requires "${name}", naming it when it is missing or undefined`, () => {
          const { [name]: _left, ...rest } = table.base ?? {};
          expect(() => table.create(rest)).toThrow(TypeError);
          expect(() => table.create(rest)).toThrow(`"${name}"`);
          expect(() => table.create({ ...rest, [name]: undefined })).toThrow(`"${name}"`);
        });
      }

      for (const [name, values] of Object.entries(table.options)) {
        if (values.length === 0) continue; // takes any value
        it(`rejects every invalid "${name}" at creation with a TypeError or RangeError naming it`, () => {
          for (const value of values) {
            let thrown: unknown;
            try {
              table.create({ ...table.base, [name]: value });
            } catch (error) {
              thrown = error;
            }
            const label = `${name}: ${typeof value === 'object' ? JSON.stringify(value) : String(value)}`;
            expect(thrown instanceof TypeError || thrown instanceof RangeError, label).toBe(true);
            expect((thrown as Error).message, label).toMatch(new RegExp(`"${name}["[]`)); // "latency" or "latency[0]"
          }
        });
      }
    });
  }

  it('withTimeout rejects a missing or invalid ms, naming it', () => {
    for (const ms of [undefined, -1, NaN, '5', null]) {
      expect(() => withTimeout(ms as never), String(ms)).toThrow(/"ms"/);
    }
  });

  it('undefined means the default: retryWithBackoff({ maxRetries: undefined }) makes 1 + 3 attempts', async () => {
    vi.useFakeTimers();
    try {
      const fn = vi.fn(() => Promise.reject(new Error('x')));
      const done = retryWithBackoff(loose<RetryOptions>({ maxRetries: undefined, initialDelay: undefined, jitter: undefined })).execute(fn).catch(() => {});
      await vi.runAllTimersAsync();
      await done;
      expect(fn).toHaveBeenCalledTimes(4);
    } finally {
      vi.useRealTimers();
    }
  });

  it("undefined means the default: withTimeout(ms, { strategy: undefined }) is 'aggressive'", async () => {
    vi.useFakeTimers();
    try {
      const call = withTimeout(10, loose<TimeoutOptions>({ strategy: undefined })).execute(() => new Promise(() => {}));
      const assertion = expect(call).rejects.toBeInstanceOf(TimeoutError);
      await vi.advanceTimersByTimeAsync(10);
      await assertion;
    } finally {
      vi.useRealTimers();
    }
  });

  it('undefined means the default: CircuitBreaker({ failureThreshold: undefined }) opens after 5 failures', async () => {
    const breaker = new CircuitBreaker(loose<CircuitBreakerOptions>({ failureThreshold: undefined, openDuration: undefined }));
    for (let i = 1; i <= 5; i++) {
      expect(breaker.state, `before failure ${i}`).toBe('closed');
      await breaker.execute(() => Promise.reject(new Error('x'))).catch(() => {});
    }
    expect(breaker.state).toBe('open');
  });

  it('undefined means the default: Bulkhead({ maxQueue: undefined }) queues nothing', async () => {
    const bulkhead = new Bulkhead(loose<BulkheadOptions>({ maxConcurrent: 1, maxQueue: undefined, queueTimeout: undefined }));
    void bulkhead.execute(() => new Promise(() => {}));
    await expect(bulkhead.execute(() => 'x')).rejects.toBeInstanceOf(BulkheadRejectedError);
    expect(bulkhead.queued).toBe(0);
  });

  it('undefined means the default: hedge({ maxHedges: undefined }) starts one hedge', async () => {
    vi.useFakeTimers();
    try {
      const fn = vi.fn(() => new Promise(() => {}));
      void hedge(loose<HedgeOptions>({ delay: 10, maxHedges: undefined })).execute(fn);
      await vi.advanceTimersByTimeAsync(1_000);
      expect(fn).toHaveBeenCalledTimes(2);
    } finally {
      vi.useRealTimers();
    }
  });

  it('wrap rejects anything that is not a policy, at creation', () => {
    for (const bad of [5, 'x', null, undefined, {}, { execute: 5 }]) {
      expect(() => wrap(bad as never), String(bad)).toThrow(TypeError);
    }
  });
});
