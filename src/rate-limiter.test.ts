import { getEventListeners } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RateLimitedError, TimeoutError } from './errors.js';
import { now } from './internal/timers.js';
import { seededRandom } from './internal/random.js';
import { wrap } from './policy.js';
import { RateLimiter, type RateLimiterOptions } from './rate-limiter.js';
import { retryWithBackoff } from './retry.js';
import { withTimeout } from './timeout.js';

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
