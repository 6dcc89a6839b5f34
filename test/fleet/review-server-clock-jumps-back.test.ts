// Review (issue 14): the store decides on its own clock (API.md: "Time comes from the
// server's clock"). When that clock steps back (an NTP correction of the Redis host; here the
// memory store's Date.now()), state written before the step holds absolute times in the
// "future": the rate limiter's TAT turns every call away for the whole step (and its deny cache
// remembers the long retryAfter locally), and an open circuit stays open for the whole step.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BrokenCircuitError, CircuitBreaker, createMemoryStore, RateLimitedError, RateLimiter, type Store } from '../../src/index.js';

const STEP = 10 * 60_000; // the server's clock steps back 10 minutes

describe('review: the store’s clock steps back', () => {
  let store: Store;
  beforeEach(() => {
    vi.useFakeTimers();
    store = createMemoryStore();
  });
  afterEach(() => void vi.useRealTimers());

  it('RateLimiter: a drained bucket refills within an interval, not after the step', async () => {
    const limiter = new RateLimiter({ limit: 10, interval: 1_000, store, key: 'clock' });
    for (let i = 0; i < 10; i++) await limiter.execute(() => 'ok');
    await expect(limiter.execute(() => 'ok')).rejects.toBeInstanceOf(RateLimitedError);
    vi.setSystemTime(Date.now() - STEP);
    await vi.advanceTimersByTimeAsync(1_100);
    const seen = await limiter.execute(() => 'ok').then(
      (v) => v,
      (e: unknown) => e,
    );
    // Adjusted (B3): the store cannot see when its clock stepped, so the idle 1.1 s after the
    // step is not credited; the bucket is taken as it was at its last write (drained) and
    // refills from the first decision that sees the step: within an interval, not the step.
    const retryAfter = seen instanceof RateLimitedError ? seen.retryAfter : 0;
    if (retryAfter === 0) expect(seen).toBe('ok');
    expect(retryAfter).toBeLessThanOrEqual(1_000);
    await vi.advanceTimersByTimeAsync(retryAfter);
    await expect(limiter.execute(() => 'ok')).resolves.toBe('ok');
  });

  it('CircuitBreaker: an open circuit goes half-open after openDuration, not after the step', async () => {
    const b = new CircuitBreaker({ failureThreshold: 1, openDuration: 1_000, syncInterval: 100, store, key: 'clock' });
    await b.execute(() => 'ok');
    await b.execute(() => Promise.reject(new Error('boom'))).catch(() => {});
    await vi.advanceTimersByTimeAsync(150);
    vi.setSystemTime(Date.now() - STEP);
    // Another instance (or this one after a lull) reads the fleet's state after the step.
    const other = new CircuitBreaker({ failureThreshold: 1, openDuration: 1_000, syncInterval: 100, store, key: 'clock' });
    await vi.advanceTimersByTimeAsync(1_500);
    const seen = await other.execute(() => 'ok').then(
      (v) => v,
      (e: unknown) => e,
    );
    expect(seen instanceof BrokenCircuitError ? `rejected, retryAfter ${seen.retryAfter} ms` : seen).toBe('ok');
  });
});
