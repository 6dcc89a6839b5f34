import { getEventListeners } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RateLimitedError, TimeoutError } from './errors.js';
import { now } from './internal/timers.js';
import { seededRandom } from './internal/random.js';
import { wrap } from './policy.js';
import { RateLimiter, type RateLimiterOptions } from './rate-limiter.js';
import { retryWithBackoff } from './retry.js';
import { withTimeout } from './timeout.js';
import { createMemoryStore, memoryBackend } from './store/memory.js';
import { createStore } from './store/store.js';
import type { Store, StoreBackend } from './store/types.js';

function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

/** Admitted (true) or rejected (false) right now, with the rejection's retryAfter. */
async function attempt(limiter: RateLimiter): Promise<number | true> {
  try {
    await limiter.execute(() => undefined);
    return true;
  } catch (error) {
    if (!(error instanceof RateLimitedError)) throw error;
    return error.retryAfter;
  }
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('RateLimiter', () => {
  it('admits a burst of up to limit calls, then rejects with RateLimitedError carrying retryAfter', async () => {
    const limiter = new RateLimiter({ limit: 5, interval: 1_000 });
    const rejected: unknown[] = [];
    limiter.on('rejected', (payload) => rejected.push(payload));
    expect(limiter.available).toBe(5);
    for (let i = 0; i < 5; i++) expect(await limiter.execute(() => i)).toBe(i);
    expect(limiter.available).toBe(0);
    const fn = vi.fn();
    const error = await rejection(limiter.execute(fn));
    expect(error).toBeInstanceOf(RateLimitedError);
    expect((error as RateLimitedError).retryAfter).toBe(200);
    expect(fn).not.toHaveBeenCalled();
    expect(rejected).toEqual([{ retryAfter: 200 }]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('refills one token every interval / limit ms, and retryAfter is exactly when it comes', async () => {
    const limiter = new RateLimiter({ limit: 3, interval: 1_000 });
    for (let i = 0; i < 3; i++) expect(await attempt(limiter)).toBe(true);
    // Tokens are due at 333.3…, 666.6… and 1000 ms; retryAfter is rounded up to whole ms.
    expect(await attempt(limiter)).toBe(334);
    vi.advanceTimersByTime(333);
    expect(await attempt(limiter)).toBe(1);
    vi.advanceTimersByTime(1);
    expect(await attempt(limiter)).toBe(true);
    expect(await attempt(limiter)).toBe(333);
    vi.advanceTimersByTime(333);
    expect(await attempt(limiter)).toBe(true);
    vi.advanceTimersByTime(333);
    expect(await attempt(limiter)).toBe(true);
    expect(await attempt(limiter)).toBe(334);
  });

  it('refills to exactly limit over a long idle gap, with no drift in later refills', async () => {
    const limiter = new RateLimiter({ limit: 7, interval: 3_000 });
    for (let i = 0; i < 7; i++) await attempt(limiter);
    // Idle for far longer than a timer could ever run (about 31 years).
    vi.advanceTimersByTime(1e12);
    let admitted = 0;
    while (admitted < 100 && (await attempt(limiter)) === true) admitted++;
    expect(admitted).toBe(7);
    // The next token is due 3000 / 7 = 428.57… ms later, and every later one on the same grid.
    expect(await attempt(limiter)).toBe(429);
    // Kept busy for 300 s, taking each token as it comes (so the bucket never fills up again).
    let total = 0;
    for (let ms = 0; ms < 300_000; ms += 100) {
      vi.advanceTimersByTime(100);
      while ((await attempt(limiter)) === true) total++;
    }
    // 300 s at 7 per 3 s is exactly 700 tokens.
    expect(total).toBe(700);
  });

  it('never admits more than limit + elapsed × rate calls in any window under random bursts', async () => {
    const limit = 4;
    const interval = 250;
    const limiter = new RateLimiter({ limit, interval, maxWait: 60 });
    const random = seededRandom(7);
    const startedAt: number[] = [];
    const start = now();
    const calls: Promise<string>[] = [];
    let overdue = 0;
    for (let step = 0; step < 600; step++) {
      await vi.advanceTimersByTimeAsync(Math.floor(random() * 40));
      const burst = Math.floor(random() * 6);
      for (let i = 0; i < burst; i++) {
        const requested = now();
        const call = limiter.execute(() => {
          if (now() - requested > 60) overdue++;
          startedAt.push(now() - start);
        });
        calls.push(call.then(() => 'ok', (error: unknown) => (error instanceof RateLimitedError ? 'limited' : 'other')));
      }
    }
    await vi.advanceTimersByTimeAsync(1_000);
    const outcomes = await Promise.all(calls);
    let worst = -Infinity;
    for (let i = 0; i < startedAt.length; i++) {
      for (let j = i; j < startedAt.length; j++) {
        const allowed = limit + Math.floor(((startedAt[j]! - startedAt[i]!) * limit) / interval);
        worst = Math.max(worst, j - i + 1 - allowed);
      }
    }
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(startedAt.length);
    expect(outcomes.filter((o) => o === 'limited').length).toBeGreaterThan(0);
    expect(outcomes).not.toContain('other');
    // No call that was let in to wait waited longer than maxWait.
    expect(overdue).toBe(0);
    expect(startedAt.length).toBeGreaterThan(100);
    // At the limit, not merely below it: bursts do use the whole bucket.
    expect(worst).toBe(0);
  });

  it('lets calls wait up to maxWait in FIFO order, with a single timer that stops when nobody waits', async () => {
    const limiter = new RateLimiter({ limit: 2, interval: 100, maxWait: 200 });
    const started: number[] = [];
    const calls = Array.from({ length: 6 }, (_, i) => limiter.execute(() => started.push(i)));
    await Promise.resolve();
    // Two tokens now, then one every 50 ms: calls 2..5 are due at 50, 100, 150, 200.
    expect(started).toEqual([0, 1]);
    expect(limiter.queued).toBe(4);
    expect(vi.getTimerCount()).toBe(1);
    // A seventh call's token would be due in 250 ms > maxWait: rejected at once.
    expect(((await rejection(limiter.execute(() => 7))) as RateLimitedError).retryAfter).toBe(250);
    await vi.advanceTimersByTimeAsync(49);
    expect(started).toEqual([0, 1]);
    await vi.advanceTimersByTimeAsync(1);
    expect(started).toEqual([0, 1, 2]);
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(150);
    expect(started).toEqual([0, 1, 2, 3, 4, 5]);
    await Promise.all(calls);
    expect(limiter.queued).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('keeps a single timer when a waiting call, once let in, queues another call', async () => {
    const limiter = new RateLimiter({ limit: 1, interval: 100, maxWait: Infinity });
    await limiter.execute(() => 'burst');
    const started: string[] = [];
    let inner: Promise<unknown> | undefined;
    const outer = limiter.execute(() => {
      started.push('outer');
      inner = limiter.execute(() => started.push('inner'));
      expect(vi.getTimerCount()).toBe(1);
    });
    const behind = limiter.execute(() => started.push('behind'));
    await vi.advanceTimersByTimeAsync(100);
    await outer;
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(200);
    await Promise.all([inner, behind]);
    expect(started).toEqual(['outer', 'behind', 'inner']);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('lets a waiting call whose signal aborts leave at once, so the calls behind it move up', async () => {
    const limiter = new RateLimiter({ limit: 1, interval: 100, maxWait: Infinity });
    await limiter.execute(() => 'burst');
    const controller = new AbortController();
    const fn = vi.fn();
    const aborted = rejection(limiter.execute(fn, controller.signal));
    const behind = limiter.execute(() => 'behind');
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    const reason = new Error('gave up');
    controller.abort(reason);
    expect(await aborted).toBe(reason);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    expect(limiter.queued).toBe(1);
    // The token that was due for the aborted call at 100 ms now goes to the one behind it.
    await vi.advanceTimersByTimeAsync(100);
    expect(await behind).toBe('behind');
    expect(fn).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('stops its timer when the last waiting call aborts, and removes the listener when a call gets its token', async () => {
    const limiter = new RateLimiter({ limit: 1, interval: 100, maxWait: 1_000 });
    await limiter.execute(() => 'burst');
    const controller = new AbortController();
    const served = limiter.execute(() => 'served', controller.signal);
    await vi.advanceTimersByTimeAsync(100);
    expect(await served).toBe('served');
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);

    const lone = new AbortController();
    const aborted = rejection(limiter.execute(() => 'never', lone.signal));
    expect(vi.getTimerCount()).toBe(1);
    lone.abort();
    expect(await aborted).toBeInstanceOf(DOMException);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects with the signal reason and calls nothing when the signal is already aborted', async () => {
    const limiter = new RateLimiter({ limit: 1, interval: 100 });
    const reason = new Error('already');
    const fn = vi.fn();
    expect(await rejection(limiter.execute(fn, AbortSignal.abort(reason)))).toBe(reason);
    expect(fn).not.toHaveBeenCalled();
    expect(limiter.available).toBe(1);
  });

  it('leaves its queue when an enclosing timeout gives up on a waiting call', async () => {
    const limiter = new RateLimiter({ limit: 1, interval: 1_000, maxWait: Infinity });
    await limiter.execute(() => 'burst');
    const fn = vi.fn();
    const timedOut = rejection(wrap(withTimeout(50), limiter).execute(fn));
    await vi.advanceTimersByTimeAsync(50);
    expect(await timedOut).toBeInstanceOf(TimeoutError);
    expect(limiter.queued).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    expect(fn).not.toHaveBeenCalled();
  });

  it('passes results, errors and synchronous throws of waiting calls through, serving the rest', async () => {
    const limiter = new RateLimiter({ limit: 1, interval: 10, maxWait: 100 });
    const calls = [
      limiter.execute(() => 'first'),
      limiter.execute(() => {
        throw new Error('sync');
      }),
      limiter.execute(() => Promise.reject(new Error('async'))),
      limiter.execute(() => 'last'),
    ];
    const settled = Promise.allSettled(calls);
    await vi.advanceTimersByTimeAsync(30);
    const outcomes = (await settled).map((s) => (s.status === 'fulfilled' ? s.value : (s.reason as Error).message));
    expect(outcomes).toEqual(['first', 'sync', 'async', 'last']);
  });

  it('composes with retryWithBackoff, which waits exactly retryAfter before trying again', async () => {
    const limiter = new RateLimiter({ limit: 2, interval: 1_000 });
    const retry = retryWithBackoff({ maxRetries: 3, jitter: 'none', initialDelay: 1 });
    const delays: number[] = [];
    retry.on('retry', ({ delay }) => delays.push(delay));
    const pipeline = wrap(retry, limiter);
    await pipeline.execute(() => 'a');
    await pipeline.execute(() => 'b');
    const third = pipeline.execute(() => 'c');
    await vi.advanceTimersByTimeAsync(500);
    expect(await third).toBe('c');
    expect(delays).toEqual([500]);
  });

  it('behaves the same on every run under fake timers', async () => {
    const run = async (): Promise<(number | true)[]> => {
      const limiter = new RateLimiter({ limit: 3, interval: 70 });
      const results: (number | true)[] = [];
      for (let i = 0; i < 40; i++) {
        vi.advanceTimersByTime(i % 11);
        results.push(await attempt(limiter));
      }
      return results;
    };
    const first = await run();
    expect(await run()).toEqual(first);
    expect(first.filter((r) => r === true).length).toBeGreaterThan(3);
  });

  it('rejects invalid options naming the option', () => {
    const make = (options: unknown) => () => new RateLimiter(options as RateLimiterOptions);
    expect(make(undefined)).toThrow(/"limit" is required/);
    expect(make({ limit: 1 })).toThrow(/"interval" is required/);
    expect(make({ limit: 0, interval: 1 })).toThrow(/"limit"/);
    expect(make({ limit: 1.5, interval: 1 })).toThrow(RangeError);
    expect(make({ limit: Infinity, interval: 1 })).toThrow(/"limit"/);
    expect(make({ limit: 1, interval: 0 })).toThrow(/"interval"/);
    expect(make({ limit: 1, interval: Infinity })).toThrow(/"interval"/);
    expect(make({ limit: 1, interval: '1' })).toThrow(TypeError);
    expect(make({ limit: 1, interval: 1, maxWait: -1 })).toThrow(/"maxWait"/);
    expect(make({ limit: 1, interval: 1, maxWait: NaN })).toThrow(/"maxWait"/);
    expect(make(null)).toThrow(TypeError);
    expect(new RateLimiter({ limit: 1, interval: 0.5, maxWait: Infinity }).maxWait).toBe(Infinity);
  });
});

/** A memory backend whose rateLimit and ping can be made to fail (or hang), counting the calls that reach it. */
function flakyBackend(): { backend: StoreBackend; calls: () => number; fail: (error: Error | 'hang' | undefined) => void } {
  const inner = memoryBackend();
  let calls = 0;
  let failure: Error | 'hang' | undefined;
  const gate = <T>(op: () => Promise<T>): Promise<T> => {
    if (failure === 'hang') return new Promise<T>(() => {});
    return failure !== undefined ? Promise.reject(failure) : op();
  };
  const backend: StoreBackend = {
    rateLimit: (key, request) => {
      calls++;
      return gate(() => inner.rateLimit(key, request));
    },
    breaker: (key, request) => inner.breaker(key, request),
    budget: (key, request) => inner.budget(key, request),
    ping: () => gate(() => inner.ping()),
  };
  return { backend, calls: () => calls, fail: (error) => (failure = error) };
}

describe('RateLimiter with a store', () => {
  const fleet = (store: Store, options: Partial<RateLimiterOptions> = {}) =>
    new RateLimiter({ limit: 5, interval: 1_000, store, key: 'api', ...options });

  it('rejects a store that is not a Store, a missing or empty key, and an unknown onStoreError, naming the option', () => {
    const store = createMemoryStore();
    const make = (options: unknown) => () => new RateLimiter({ limit: 1, interval: 1, ...(options as object) });
    expect(make({ store: {}, key: 'k' })).toThrow(TypeError);
    expect(make({ store: {}, key: 'k' })).toThrow(/"store"/);
    expect(make({ store: null, key: 'k' })).toThrow(/"store"/);
    expect(make({ store: { fleet: { limiter: () => undefined } }, key: 'k' })).toThrow(/"store"/);
    expect(make({ store })).toThrow(TypeError);
    expect(make({ store })).toThrow(/"key"/);
    expect(make({ store, key: '' })).toThrow(/"key"/);
    expect(make({ store, key: 7 })).toThrow(TypeError);
    expect(make({ store, key: 'k', onStoreError: 'ignore' })).toThrow(/"onStoreError"/);
    expect(make({ store, key: 'k', onStoreError: 1 })).toThrow(TypeError);
    expect(make({ onStoreError: 'nope' })).toThrow(/"onStoreError"/);
    expect(make({ store, key: 'k', limit: 2e9 })).toThrow(RangeError);
    expect(make({ stor: store })).toThrow(/did you mean 'store'/);
    expect(make({ store, key: 'k', onStoreError: 'reject' })).not.toThrow();
  });

  it('shares one bucket between limiters on the same store and key, with retryAfter from the store', async () => {
    const store = createMemoryStore();
    const a = fleet(store);
    const b = fleet(store);
    const other = fleet(store, { key: 'other' });
    expect([await attempt(a), await attempt(b), await attempt(a), await attempt(b), await attempt(a)]).toEqual([true, true, true, true, true]);
    expect(await attempt(b)).toBe(200);
    expect(await attempt(a)).toBe(200);
    expect(await attempt(other)).toBe(true);
    vi.advanceTimersByTime(200);
    expect(await attempt(b)).toBe(true);
    expect(await attempt(a)).toBe(200);
  });

  it('admits exactly limit per interval across limiters over a long run, fractions of a ms included', async () => {
    const store = createMemoryStore();
    const limiters = [0, 1, 2].map(() => fleet(store, { limit: 3 }));
    let total = 0;
    for (let ms = 0; ms < 300_000; ms += 100) {
      for (const limiter of limiters) while ((await attempt(limiter)) === true) total++;
      vi.advanceTimersByTime(100);
    }
    // A full bucket (3), then a token every 333.3… ms up to the last look at 299.9 s: 899 more.
    expect(total).toBe(3 + 900 - 1);
  });

  it('turns calls away locally after a refusal until the token is due, with no round trip and the right retryAfter', async () => {
    const { backend, calls } = flakyBackend();
    const limiter = fleet(createStore(backend), { limit: 2 });
    const rejected: unknown[] = [];
    limiter.on('rejected', (payload) => rejected.push(payload));
    await attempt(limiter);
    await attempt(limiter);
    expect(await attempt(limiter)).toBe(500);
    expect(calls()).toBe(3);
    vi.advanceTimersByTime(100);
    expect(await attempt(limiter)).toBe(400);
    vi.advanceTimersByTime(399);
    expect(await attempt(limiter)).toBe(1);
    expect(calls()).toBe(3);
    expect(limiter.available).toBe(0);
    expect(rejected.slice(0, 3)).toEqual([{ retryAfter: 500 }, { retryAfter: 400 }, { retryAfter: 1 }]);
    // Answered from memory without the cost of a stack trace, which is restored for everyone else.
    const limit = Error.stackTraceLimit;
    const error = (await rejection(limiter.execute(() => 'never'))) as RateLimitedError;
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error.stack).not.toMatch(/\n\s+at /);
    expect(Error.stackTraceLimit).toBe(limit);
    expect(new Error('x').stack).toMatch(/\n\s+at /);
    vi.advanceTimersByTime(1);
    expect(await attempt(limiter)).toBe(true);
    expect(calls()).toBe(4);
  });

  it('reserves tokens fleet-wide within maxWait: a call waits its turn, and one due later is turned away', async () => {
    const store = createMemoryStore();
    const a = fleet(store, { limit: 1, interval: 100, maxWait: 250 });
    const b = fleet(store, { limit: 1, interval: 100, maxWait: 250 });
    const started: string[] = [];
    const calls = [a, b, a].map((limiter, i) => limiter.execute(() => started.push(`${i}@${now()}`)));
    await vi.advanceTimersByTimeAsync(0);
    const t0 = now();
    expect(started).toEqual([`0@${t0}`]);
    expect(a.queued + b.queued).toBe(2);
    // The fourth token would be due in 300 ms > maxWait.
    expect(await attempt(b)).toBe(300);
    await vi.advanceTimersByTimeAsync(200);
    await Promise.all(calls);
    expect(started).toEqual([`0@${t0}`, `1@${t0 + 100}`, `2@${t0 + 200}`]);
    expect(a.queued + b.queued).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('lets a reserved call abort with its reason; its token is not given back', async () => {
    const store = createMemoryStore();
    const limiter = fleet(store, { limit: 1, interval: 100, maxWait: Infinity });
    await limiter.execute(() => 'burst');
    const controller = new AbortController();
    const fn = vi.fn();
    const aborted = rejection(limiter.execute(fn, controller.signal));
    await vi.advanceTimersByTimeAsync(10);
    expect(limiter.queued).toBe(1);
    const reason = new Error('gave up');
    controller.abort(reason);
    expect(await aborted).toBe(reason);
    expect(limiter.queued).toBe(0);
    expect(fn).not.toHaveBeenCalled();
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    // The next call's token comes after the aborted one's (at 100 ms): at 200 ms.
    const started: number[] = [];
    const next = limiter.execute(() => started.push(now()));
    const t = now();
    await vi.advanceTimersByTimeAsync(200);
    await next;
    expect(started).toEqual([t + 190]);
  });

  it("falls back on a local bucket of its share with 'local', emitting storeError once and storeRecovered once", async () => {
    const { backend, fail, calls } = flakyBackend();
    const store = createStore(backend, { timeout: 50 });
    const limiters = [0, 1, 2, 3].map(() => fleet(store, { limit: 8 }));
    const events: string[] = [];
    limiters[0]!.on('storeError', ({ error }) => events.push(`error ${(error as Error).message}`));
    limiters[0]!.on('storeRecovered', ({ downtime }) => events.push(`recovered ${downtime}`));
    // Each takes one token and is seen by the store's heartbeat; a second later (when the bucket
    // is full again) each beats again and learns there are 4.
    for (const limiter of limiters) expect(await attempt(limiter)).toBe(true);
    vi.advanceTimersByTime(1_000);
    for (const limiter of limiters) expect(await attempt(limiter)).toBe(true);
    fail(new Error('down'));
    // 8 per second shared by 4 instances: 2 each, as a local bucket that starts full.
    expect([await attempt(limiters[0]!), await attempt(limiters[0]!), await attempt(limiters[0]!)]).toEqual([true, true, 500]);
    expect([await attempt(limiters[3]!), await attempt(limiters[3]!), await attempt(limiters[3]!)]).toEqual([true, true, 500]);
    const during = calls();
    // While down, calls go local at once: no backend call, no timeout paid.
    for (let i = 0; i < 10; i++) await attempt(limiters[2]!);
    expect(calls()).toBe(during);
    fail(undefined);
    await vi.advanceTimersByTimeAsync(100);
    // Shared again: 4 tokens were taken from the fleet's full bucket at 1 000 ms, one is due every
    // 125 ms, so 100 ms later the bucket holds 4.8: 4 calls get one, and the next is due 25 ms later.
    const outcomes: (number | true)[] = [];
    for (let i = 0; i < 8; i++) outcomes.push(await attempt(limiters[i % 4]!));
    expect(outcomes).toEqual([true, true, true, true, 25, 25, 25, 25]);
    expect(events).toEqual(['error down', 'recovered 100']);
    // A second outage, once the refused token is due (until then calls are turned away locally):
    // the same local bucket as in the first (no fresh burst per outage), drained at 1 000 ms and
    // refilling one token per 500 ms, so its next token is due 375 ms later.
    fail(new Error('again'));
    vi.advanceTimersByTime(25);
    expect(await attempt(limiters[0]!)).toBe(375);
    expect(events).toEqual(['error down', 'recovered 100', 'error again']);
    vi.advanceTimersByTime(375);
    expect([await attempt(limiters[0]!), await attempt(limiters[0]!)]).toEqual([true, 500]);
  });

  it("keeps one local bucket for its lifetime: a store that flaps gives no fresh burst per outage, nor does a new share", async () => {
    const inner = memoryBackend();
    let down = false;
    let instances = 4;
    const backend: StoreBackend = {
      rateLimit: (key, request) =>
        down ? Promise.reject(new Error('flap')) : inner.rateLimit(key, request).then((reply) => (reply.instances > 0 ? { ...reply, instances } : reply)),
      breaker: (key, request) => inner.breaker(key, request),
      budget: (key, request) => inner.budget(key, request),
      ping: () => (down ? Promise.reject(new Error('flap')) : inner.ping()),
    };
    const limiter = fleet(createStore(backend, { timeout: 50 }), { limit: 8 });
    expect(await attempt(limiter)).toBe(true); // the heartbeat: 4 instances, a share of 2
    down = true;
    expect([await attempt(limiter), await attempt(limiter), await attempt(limiter)]).toEqual([true, true, 500]);
    down = false;
    await vi.advanceTimersByTimeAsync(100); // back
    instances = 2; // half the fleet left: a share of 4, learnt at once (the first call after an outage beats)
    expect(await attempt(limiter)).toBe(true);
    expect(limiter.available).toBe(6);
    down = true;
    // A second outage 100 ms after the first drained it: the same bucket, 100 ms refilled at 2 per s,
    // made a share of 4 keeping how far from full it is (900 ms): its next token in 150 ms. A fresh
    // bucket would admit 4 at once.
    expect(await attempt(limiter)).toBe(150);
    await vi.advanceTimersByTimeAsync(150);
    expect([await attempt(limiter), await attempt(limiter)]).toEqual([true, 250]);
    // And it refills on time by itself, 250 ms per token now, up to the share.
    await vi.advanceTimersByTimeAsync(5_000);
    const outcomes: (number | true)[] = [];
    for (let i = 0; i < 5; i++) outcomes.push(await attempt(limiter));
    expect(outcomes).toEqual([true, true, true, true, 250]);
  });

  it('turns a reply it cannot read into a store failure: the call goes by onStoreError, storeError once, the store probed', async () => {
    let replies: unknown = { admitted: 'yes', wait: 0, remaining: 1, instances: 0 };
    const inner = memoryBackend();
    let pings = 0;
    const backend: StoreBackend = {
      rateLimit: (key, request) => (replies === undefined ? inner.rateLimit(key, request) : Promise.resolve(replies as never)),
      breaker: (key, request) => inner.breaker(key, request),
      budget: (key, request) => inner.budget(key, request),
      ping: () => (pings++, inner.ping()),
    };
    const store = createStore(backend, { timeout: 50 });
    const limiter = fleet(store, { limit: 10 });
    const events: string[] = [];
    limiter.on('storeError', ({ error }) => events.push(`error ${(error as Error).message}`));
    limiter.on('storeRecovered', () => events.push('recovered'));
    await expect(limiter.execute(() => 'ran')).resolves.toBe('ran');
    expect(store.link.down).toBe(true);
    expect(events).toEqual(['error rateLimit: unexpected reply [object Object]']);
    for (const bad of [null, undefined, { admitted: true, wait: Number.NaN, remaining: 0, instances: 0 }]) {
      replies = bad ?? 'nothing';
      await vi.advanceTimersByTimeAsync(100);
      await expect(limiter.execute(() => 'ran')).resolves.toBe('ran');
    }
    replies = undefined;
    await vi.advanceTimersByTimeAsync(1_000);
    await expect(limiter.execute(() => 'ran')).resolves.toBe('ran');
    expect(store.link.down).toBe(false);
    expect(pings).toBeGreaterThan(0);
    // One outage per unreadable reply (the probe finds the store answering between them), each told once.
    expect(events).toEqual([
      'error rateLimit: unexpected reply [object Object]',
      'recovered',
      'error rateLimit: unexpected reply nothing',
      'recovered',
      'error rateLimit: unexpected reply nothing',
      'recovered',
      'error rateLimit: unexpected reply [object Object]',
      'recovered',
    ]);
  });

  it('cuts a wait longer than interval + maxWait (a store whose clock stepped back), in retryAfter and in the deny cache', async () => {
    let calls = 0;
    const inner = memoryBackend();
    const backend: StoreBackend = {
      rateLimit: () => (calls++, Promise.resolve({ admitted: false, wait: 599_000, remaining: 0, instances: 0 })),
      breaker: (key, request) => inner.breaker(key, request),
      budget: (key, request) => inner.budget(key, request),
      ping: () => inner.ping(),
    };
    const limiter = fleet(createStore(backend), { limit: 10, interval: 1_000, maxWait: 200 });
    expect(await attempt(limiter)).toBe(1_200);
    expect(await attempt(limiter)).toBe(1_200); // the deny cache (more than maxWait ahead)
    expect(calls).toBe(1);
    await vi.advanceTimersByTimeAsync(1_000); // 200 ms left: within maxWait, the store is asked again
    expect(await attempt(limiter)).toBe(1_200);
    expect(calls).toBe(2);
  });

  it("admits with 'allow' and rejects with the store's error as cause with 'reject' when the store fails", async () => {
    const { backend, fail } = flakyBackend();
    const store = createStore(backend);
    const allow = fleet(store, { limit: 1, onStoreError: 'allow' });
    const reject = fleet(store, { limit: 4, onStoreError: 'reject', key: 'r' });
    const down = new Error('down');
    fail(down);
    for (let i = 0; i < 5; i++) expect(await attempt(allow)).toBe(true);
    const rejected: unknown[] = [];
    reject.on('rejected', (payload) => rejected.push(payload));
    const fn = vi.fn();
    const error = (await rejection(reject.execute(fn))) as RateLimitedError;
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error.cause).toBe(down);
    expect(error.retryAfter).toBe(250);
    expect(fn).not.toHaveBeenCalled();
    expect(rejected).toEqual([{ retryAfter: 250 }]);
  });

  it('waits on a hung store no longer than its timeout, then goes local', async () => {
    const { backend, fail } = flakyBackend();
    const limiter = fleet(createStore(backend, { timeout: 30 }));
    fail('hang');
    const started: number[] = [];
    const t = now();
    const call = limiter.execute(() => started.push(now() - t));
    await vi.advanceTimersByTimeAsync(30);
    await call;
    expect(started).toEqual([30]);
  });

  it("rejects with the caller's reason, not as a store failure, when the caller aborts during the round trip", async () => {
    const { backend, fail } = flakyBackend();
    const limiter = fleet(createStore(backend, { timeout: 1_000 }), { onStoreError: 'allow' });
    const errors: unknown[] = [];
    limiter.on('storeError', (payload) => errors.push(payload));
    fail('hang');
    const controller = new AbortController();
    const fn = vi.fn();
    const call = rejection(limiter.execute(fn, controller.signal));
    await vi.advanceTimersByTimeAsync(10);
    const reason = new Error('caller gave up');
    controller.abort(reason);
    expect(await call).toBe(reason);
    expect(fn).not.toHaveBeenCalled();
    expect(errors).toEqual([]);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('keeps no timer and no listener once idle', async () => {
    const { backend, fail } = flakyBackend();
    const store = createStore(backend);
    const limiter = fleet(store, { maxWait: 500 });
    for (let i = 0; i < 8; i++) void limiter.execute(() => i).catch(() => undefined);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(vi.getTimerCount()).toBe(0);
    fail(new Error('down'));
    await attempt(limiter);
    fail(undefined);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(vi.getTimerCount()).toBe(0);
  });
});
