// Review (issue 14): "a policy object that is dropped must become garbage: no perpetual timer,
// no permanent listener" and link.ts: "a dropped store whose engine is gone leaves no timer".
// But every policy that met the outage registers link.onUp (outage.ts) for as long as the
// outage lasts, and the link keeps probing (every second) while any onUp waits: a store whose
// engine never comes back keeps a probe timer, and with it the store and every policy that saw
// the outage, forever. A fleet CircuitBreaker that isolated or reset during the outage also
// never stops its own sync timer (holdsChanged / resetting stay set while sends fail).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CircuitBreaker, createStore, RateLimiter, RetryBudget, type Store, type StoreBackend } from '../../src/index.js';

/** A store whose engine is gone for good. */
function deadStore(): Store {
  const dead = (): Promise<never> => Promise.reject(new Error('ECONNREFUSED'));
  const backend: StoreBackend = { rateLimit: dead, breaker: dead, budget: dead, ping: dead };
  return createStore(backend, { timeout: 50 });
}

describe('review: policies idle in an outage that never ends', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it('a RateLimiter that met the outage once, then idle: no timer left after a minute', async () => {
    const limiter = new RateLimiter({ limit: 10, interval: 1_000, store: deadStore(), key: 'k' });
    await limiter.execute(() => 'ok'); // local fallback; storeError
    await vi.advanceTimersByTimeAsync(60_000);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a RetryBudget used once in the outage, then idle: no timer left after a minute', async () => {
    const budget = new RetryBudget({ window: 1_000, store: deadStore(), key: 'k' });
    budget.onFirstAttempt();
    budget.tryRetry();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a CircuitBreaker isolated and released during the outage, then idle: no timer left after a minute', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 3, syncInterval: 100, store: deadStore(), key: 'k' });
    await breaker.execute(() => 'ok');
    const release = breaker.isolate();
    await vi.advanceTimersByTimeAsync(200);
    release();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(vi.getTimerCount()).toBe(0);
  });
});
