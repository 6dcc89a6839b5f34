// Failure mode: a JavaScript user's misspelt option (`{ failureTreshold: 5 }`,
// `{ maxRetry: 3 }`, `{ timeoutMs: 5_000 }`) or event name (`on('opened', …)`)
// is ignored in silence: the breaker never opens the way it was meant to, the
// listener never runs, and nothing says why. Each must be refused when the
// policy is created (or `on` is called), naming the key and the nearest valid one.
import { describe, expect, it, vi } from 'vitest';
import {
  AdaptiveLimiter,
  AdaptiveThrottle,
  Bulkhead,
  CircuitBreaker,
  PolicyRegistry,
  RateLimiter,
  RetryBudget,
  chaos,
  hedge,
  resilientFetch,
  retryWithBackoff,
  withFallback,
  withTimeout,
  wrap,
  type AdaptiveLimiterEvents,
  type AdaptiveLimiterOptions,
  type AdaptiveThrottleEvents,
  type AdaptiveThrottleOptions,
  type BulkheadEvents,
  type BulkheadOptions,
  type ChaosEvents,
  type ChaosOptions,
  type CircuitBreakerEvents,
  type CircuitBreakerOptions,
  type FallbackEvents,
  type FallbackOptions,
  type HedgeEvents,
  type HedgeOptions,
  type Policy,
  type PolicyRegistryEvents,
  type PolicyRegistryOptions,
  type RateLimiterEvents,
  type RateLimiterOptions,
  type ResilientFetchOptions,
  type RetryBudgetOptions,
  type RetryEvents,
  type RetryOptions,
  type TimeoutEvents,
  type TimeoutOptions,
} from '../../src/index.js';

/** Every key of an options type, set to undefined; `satisfies` makes TypeScript refuse a missing or extra key. */
type AllKeys<O> = { readonly [K in keyof Required<O>]: undefined };
/** Every event name of a policy; `satisfies` makes TypeScript refuse a missing or extra one. */
type AllEvents<E> = { readonly [K in keyof E]: true };

interface Owner {
  readonly create: (options: unknown) => unknown;
  /** Required options, with valid values. */
  readonly base?: Record<string, unknown>;
  readonly keys: Record<string, undefined>;
  /** A misspelling a user makes, and the name it must suggest. */
  readonly typo: readonly [typed: string, meant: string];
}

const owners: Record<string, Owner> = {
  retryWithBackoff: {
    create: (o) => retryWithBackoff(o as RetryOptions),
    keys: {
      maxRetries: undefined,
      initialDelay: undefined,
      multiplier: undefined,
      maxDelay: undefined,
      jitter: undefined,
      delay: undefined,
      maxElapsedTime: undefined,
      retryAfter: undefined,
      handle: undefined,
      handleResult: undefined,
      budget: undefined,
      random: undefined,
    } satisfies AllKeys<RetryOptions>,
    typo: ['maxRetry', 'maxRetries'],
  },
  CircuitBreaker: {
    create: (o) => new CircuitBreaker(o as CircuitBreakerOptions),
    keys: {
      failureThreshold: undefined,
      failureRateThreshold: undefined,
      minimumCalls: undefined,
      windowSize: undefined,
      windowDuration: undefined,
      slowCallDuration: undefined,
      slowCallRateThreshold: undefined,
      openDuration: undefined,
      halfOpenMaxCalls: undefined,
      successThreshold: undefined,
      handle: undefined,
      handleResult: undefined,
      initialState: undefined,
      store: undefined,
      key: undefined,
      syncInterval: undefined,
    } satisfies AllKeys<CircuitBreakerOptions>,
    typo: ['failureTreshold', 'failureThreshold'],
  },
  Bulkhead: {
    create: (o) => new Bulkhead(o as BulkheadOptions),
    base: { maxConcurrent: 1 },
    keys: { maxConcurrent: undefined, maxQueue: undefined, queueTimeout: undefined } satisfies AllKeys<BulkheadOptions>,
    typo: ['maxQueueSize', 'maxQueue'],
  },
  withTimeout: {
    create: (o) => withTimeout(1_000, o as TimeoutOptions),
    keys: { strategy: undefined } satisfies AllKeys<TimeoutOptions>,
    typo: ['strategie', 'strategy'],
  },
  withFallback: {
    create: (o) => withFallback('spare', o as FallbackOptions),
    keys: { handle: undefined, handleResult: undefined } satisfies AllKeys<FallbackOptions>,
    typo: ['handleResults', 'handleResult'],
  },
  RateLimiter: {
    create: (o) => new RateLimiter(o as RateLimiterOptions),
    base: { limit: 1, interval: 1_000 },
    keys: { limit: undefined, interval: undefined, maxWait: undefined, store: undefined, key: undefined, onStoreError: undefined } satisfies AllKeys<RateLimiterOptions>,
    typo: ['maxWaitMs', 'maxWait'],
  },
  hedge: {
    create: (o) => hedge(o as HedgeOptions),
    base: { delay: 10 },
    keys: { delay: undefined, maxHedges: undefined, handle: undefined, handleResult: undefined, budget: undefined } satisfies AllKeys<HedgeOptions>,
    typo: ['maxHedge', 'maxHedges'],
  },
  RetryBudget: {
    create: (o) => new RetryBudget(o as RetryBudgetOptions),
    keys: { ratio: undefined, minRetriesPerSecond: undefined, window: undefined, store: undefined, key: undefined } satisfies AllKeys<RetryBudgetOptions>,
    typo: ['minRetries', 'minRetriesPerSecond'],
  },
  chaos: {
    create: (o) => chaos(o as ChaosOptions),
    keys: {
      enabled: undefined,
      faultRate: undefined,
      error: undefined,
      latencyRate: undefined,
      latency: undefined,
      resultRate: undefined,
      result: undefined,
      seed: undefined,
      random: undefined,
    } satisfies AllKeys<ChaosOptions>,
    typo: ['faultrate', 'faultRate'],
  },
  resilientFetch: {
    create: (o) => resilientFetch(undefined, o as ResilientFetchOptions),
    keys: {
      fetch: undefined,
      timeout: undefined,
      totalTimeout: undefined,
      retryMethods: undefined,
      maxRetryAfter: undefined,
      perOrigin: undefined,
    } satisfies AllKeys<ResilientFetchOptions>,
    typo: ['timeoutMs', 'timeout'],
  },
  AdaptiveLimiter: {
    create: (o) => new AdaptiveLimiter(o as AdaptiveLimiterOptions),
    keys: {
      initialLimit: undefined,
      minLimit: undefined,
      maxLimit: undefined,
      algorithm: undefined,
      maxQueue: undefined,
      queueTimeout: undefined,
      handle: undefined,
      handleResult: undefined,
    } satisfies AllKeys<AdaptiveLimiterOptions>,
    typo: ['maxLimits', 'maxLimit'],
  },
  AdaptiveThrottle: {
    create: (o) => new AdaptiveThrottle(o as AdaptiveThrottleOptions),
    keys: {
      k: undefined,
      window: undefined,
      maxRejectionRate: undefined,
      random: undefined,
      handle: undefined,
      handleResult: undefined,
    } satisfies AllKeys<AdaptiveThrottleOptions>,
    typo: ['maxRejection', 'maxRejectionRate'],
  },
  PolicyRegistry: {
    create: (o) => new PolicyRegistry(o as PolicyRegistryOptions<Policy>),
    base: { create: () => new CircuitBreaker() },
    keys: { create: undefined, maxKeys: undefined, idleTimeout: undefined } satisfies AllKeys<PolicyRegistryOptions<Policy>>,
    typo: ['maxKey', 'maxKeys'],
  },
  'resilientFetch (options alone)': {
    create: (o) => resilientFetch(o as ResilientFetchOptions),
    keys: {},
    typo: ['retryMethod', 'retryMethods'],
  },
};

function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (error) {
    return error as Error;
  }
  throw new Error('did not throw');
}

describe('unknown option keys', () => {
  for (const [name, owner] of Object.entries(owners)) {
    describe(name, () => {
      it('accepts every option it documents (each set to undefined)', () => {
        expect(() => owner.create({ ...owner.keys, ...owner.base })).not.toThrow();
      });

      it('refuses a misspelt key at creation with a TypeError naming it and the nearest valid one', () => {
        const [typed, meant] = owner.typo;
        const error = thrown(() => owner.create({ ...owner.base, [typed]: 3 }));
        expect(error).toBeInstanceOf(TypeError);
        expect(error.message).toBe(`${name.split(' ')[0]}: unknown option '${typed}', did you mean '${meant}'?`);
      });

      it('refuses a key like no valid one without a suggestion', () => {
        const error = thrown(() => owner.create({ ...owner.base, xyzzy: 1 }));
        expect(error).toBeInstanceOf(TypeError);
        expect(error.message).toMatch(/unknown option 'xyzzy'$/);
      });
    });
  }

  it('the breaker a user meant to open after 2 failures is refused, not left on the default of 5', async () => {
    // What happened before: the breaker was created with the default threshold and stayed closed.
    expect(() => new CircuitBreaker({ failureTreshold: 2 } as CircuitBreakerOptions)).toThrow(/did you mean 'failureThreshold'/);
  });

  it('suggests by the longest shared start, whatever the case of the rest', () => {
    expect(() => retryWithBackoff({ maxretries: 3 } as RetryOptions)).toThrow(/did you mean 'maxRetries'/);
    expect(() => new CircuitBreaker({ failureRateTreshold: 0.5 } as CircuitBreakerOptions)).toThrow(/did you mean 'failureRateThreshold'/);
    expect(() => new CircuitBreaker({ slowCallRate: 0.5 } as CircuitBreakerOptions)).toThrow(/did you mean 'slowCallRateThreshold'/);
  });

  it('refuses an array as options, naming what it got', () => {
    for (const options of [[], [3]]) {
      expect(() => retryWithBackoff(options as RetryOptions)).toThrow(new TypeError('retryWithBackoff: options must be an object, got an array'));
      expect(() => new CircuitBreaker(options as CircuitBreakerOptions)).toThrow(TypeError);
    }
  });

  it('ignores symbol keys (they cannot be misspelt option names)', () => {
    expect(() => retryWithBackoff({ [Symbol('trace')]: 1 } as RetryOptions)).not.toThrow();
  });

  it("ignores inherited keys, and reads them: a class instance's getters are options like own keys", async () => {
    class Options {
      get maxRetries(): number {
        return 0;
      }
      get maxRetriesTypo(): number {
        return 9; // inherited (on the prototype): never refused, never read
      }
    }
    const fn = vi.fn(() => Promise.reject(new Error('down')));
    await expect(retryWithBackoff(new Options()).execute(fn)).rejects.toThrow('down');
    expect(fn).toHaveBeenCalledTimes(1);
    expect(() => new CircuitBreaker(Object.create({ failureTreshold: 2 }) as CircuitBreakerOptions)).not.toThrow();
  });
});

interface Emitting {
  readonly create: () => { on(event: string, listener: (payload: never) => void): () => void };
  readonly events: Record<string, true>;
  readonly typo: readonly [typed: string, meant: string];
}

const emitters: Record<string, Emitting> = {
  retryWithBackoff: {
    create: () => retryWithBackoff() as never,
    events: { retry: true, giveUp: true, success: true } satisfies AllEvents<RetryEvents>,
    typo: ['giveup', 'giveUp'],
  },
  CircuitBreaker: {
    create: () => new CircuitBreaker() as never,
    events: {
      stateChange: true,
      open: true,
      halfOpen: true,
      close: true,
      rejected: true,
      success: true,
      failure: true,
      storeError: true,
      storeRecovered: true,
    } satisfies AllEvents<CircuitBreakerEvents>,
    typo: ['opened', 'open'],
  },
  Bulkhead: {
    create: () => new Bulkhead({ maxConcurrent: 1 }) as never,
    events: { admitted: true, rejected: true } satisfies AllEvents<BulkheadEvents>,
    typo: ['reject', 'rejected'],
  },
  withTimeout: {
    create: () => withTimeout(10) as never,
    events: { timeout: true } satisfies AllEvents<TimeoutEvents>,
    typo: ['timedOut', 'timeout'],
  },
  withFallback: {
    create: () => withFallback('spare') as never,
    events: { fallback: true } satisfies AllEvents<FallbackEvents>,
    typo: ['fallBack', 'fallback'],
  },
  RateLimiter: {
    create: () => new RateLimiter({ limit: 1, interval: 1_000 }) as never,
    events: { rejected: true, storeError: true, storeRecovered: true } satisfies AllEvents<RateLimiterEvents>,
    typo: ['rejection', 'rejected'],
  },
  hedge: {
    create: () => hedge({ delay: 10 }) as never,
    events: { hedge: true, win: true } satisfies AllEvents<HedgeEvents>,
    typo: ['hedged', 'hedge'],
  },
  chaos: {
    create: () => chaos() as never,
    events: { latency: true, fault: true, result: true } satisfies AllEvents<ChaosEvents>,
    typo: ['faults', 'fault'],
  },
  AdaptiveLimiter: {
    create: () => new AdaptiveLimiter() as never,
    events: { admitted: true, limitChange: true, rejected: true } satisfies AllEvents<AdaptiveLimiterEvents>,
    typo: ['limitChanged', 'limitChange'],
  },
  PolicyRegistry: {
    create: () => new PolicyRegistry({ create: () => new CircuitBreaker() }) as never,
    events: { create: true, evict: true } satisfies AllEvents<PolicyRegistryEvents<Policy>>,
    typo: ['evicted', 'evict'],
  },
  AdaptiveThrottle: {
    create: () => new AdaptiveThrottle() as never,
    events: { rejected: true } satisfies AllEvents<AdaptiveThrottleEvents>,
    typo: ['reject', 'rejected'],
  },
};

describe('unknown event names', () => {
  for (const [name, emitter] of Object.entries(emitters)) {
    describe(name, () => {
      it('accepts every event it documents', () => {
        const policy = emitter.create();
        for (const event of Object.keys(emitter.events)) expect(() => policy.on(event, () => {})(), event).not.toThrow();
      });

      it('refuses a misspelt event name with a TypeError naming it and the nearest valid one', () => {
        const [typed, meant] = emitter.typo;
        const error = thrown(() => emitter.create().on(typed, () => {}));
        expect(error).toBeInstanceOf(TypeError);
        expect(error.message).toBe(`on: unknown event '${typed}', did you mean '${meant}'?`);
      });
    });
  }

  it('a wrap has no events of its own: on refuses every name', () => {
    const pipeline = wrap(retryWithBackoff());
    const on = (event: string): unknown => (pipeline as unknown as ReturnType<Emitting['create']>).on(event, () => {});
    expect(() => on('retry')).toThrow(new TypeError("on: unknown event 'retry'"));
    expect(() => on('stateChange')).toThrow(TypeError);
    expect(() => on('')).toThrow(new TypeError("on: unknown event ''"));
  });

  it("refuses the empty name on every policy, and as an option key", () => {
    expect(() => new CircuitBreaker().on('' as never, () => {})).toThrow(new TypeError("on: unknown event ''"));
    expect(() => retryWithBackoff({ '': 1 } as never)).toThrow(TypeError);
  });
});
