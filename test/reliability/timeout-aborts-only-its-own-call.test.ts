// Failure mode: a policy shared by many calls keeps one AbortController, so
// when one call times out every other call in flight is aborted with it (or
// the caller's own signal is aborted).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Bulkhead, CircuitBreaker, RateLimiter, TimeoutError, retryWithBackoff, withTimeout, wrap, type Policy, type PolicyContext } from '../../src/index.js';
import { track } from './fixtures/watch.js';

/** Starts `count` calls that each hang until their signal aborts, the first one at once and the rest 5 ms apart. */
async function hangingCalls(policy: Policy, count: number, caller?: AbortSignal) {
  const signals: AbortSignal[] = [];
  const calls = [];
  for (let i = 0; i < count; i++) {
    const fn = (ctx: PolicyContext) =>
      new Promise((_, reject) => {
        signals[i] = ctx.signal;
        ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true });
      });
    calls.push(track(policy.execute(fn, caller)));
    await vi.advanceTimersByTimeAsync(5);
  }
  return { signals, calls };
}

describe("one call's timeout", () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  for (const [name, policy] of [
    ['withTimeout alone', withTimeout(20)],
    ['a retry around a timeout', wrap(retryWithBackoff({ maxRetries: 0 }), withTimeout(20))],
    ['a timeout inside a timeout', wrap(withTimeout(1_000), withTimeout(20))],
    ['a shared breaker around a timeout', wrap(new CircuitBreaker({ failureThreshold: 10 }), withTimeout(20))],
    ['a shared bulkhead and rate limiter around a timeout', wrap(new Bulkhead({ maxConcurrent: 5 }), new RateLimiter({ limit: 10, interval: 10 }), withTimeout(20))],
  ] as const) {
    it(`aborts only that call's signal (${name})`, async () => {
      const caller = new AbortController();
      const { signals, calls } = await hangingCalls(policy, 3, caller.signal);
      // t = 15: none has reached its deadline.
      expect(signals.map((s) => s.aborted)).toEqual([false, false, false]);
      await vi.advanceTimersByTimeAsync(5); // t = 20: the first call's deadline
      expect(signals.map((s) => s.aborted)).toEqual([true, false, false]);
      expect(signals[0]!.reason).toBeInstanceOf(TimeoutError);
      expect(calls.map((c) => c.settled)).toEqual([1, 0, 0]);
      expect(caller.signal.aborted).toBe(false);
      await vi.advanceTimersByTimeAsync(5);
      expect(signals.map((s) => s.aborted)).toEqual([true, true, false]);
      await vi.advanceTimersByTimeAsync(5);
      expect(calls.map((c) => c.error instanceof TimeoutError)).toEqual([true, true, true]);
      expect(caller.signal.aborted).toBe(false);
    });
  }

  it('leaves the signal of a call that finished before its deadline unaborted afterwards', async () => {
    let seen: AbortSignal | undefined;
    const value = await withTimeout(20).execute((ctx) => {
      seen = ctx.signal;
      return 'done';
    });
    await vi.advanceTimersByTimeAsync(100);
    expect(value).toBe('done');
    expect(seen!.aborted).toBe(false); // a response body may still be streaming through it
  });
});
