// Review (issue 14): createStore() takes an engine of the user's own (StoreBackend), and its
// TSDoc promises the store handles failures. A reply the glue cannot read (undefined, a row
// that was not there, a field missing) is not turned into a store failure: RetryBudget's sync
// throws inside its .then and leaves an UNHANDLED rejection (a crash under Node's default
// --unhandled-rejections=throw); RateLimiter's call rejects with a TypeError from the glue
// (the call fails because of the store, though onStoreError is 'local').
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createMemoryStore, createStore, RateLimiter, RetryBudget, type StoreBackend } from '../../src/index.js';

function broken(): StoreBackend {
  const engine = createMemoryStore().link.backend;
  return {
    rateLimit: () => Promise.resolve(undefined as never),
    breaker: (key, q) => engine.breaker(key, q),
    budget: () => Promise.resolve(undefined as never),
    ping: () => Promise.resolve('PONG'),
  };
}

describe('review: a StoreBackend of the user’s own answering with something unreadable', () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
  beforeEach(() => {
    vi.useFakeTimers();
    unhandled.length = 0;
    process.on('unhandledRejection', onUnhandled);
  });
  afterEach(() => {
    process.off('unhandledRejection', onUnhandled);
    vi.useRealTimers();
  });

  it('RetryBudget: no unhandled rejection; the budget goes on on its own counts', async () => {
    const budget = new RetryBudget({ window: 1_000, store: createStore(broken()), key: 'k' });
    budget.onFirstAttempt();
    expect(budget.tryRetry()).toBe(true);
    await vi.advanceTimersByTimeAsync(500);
    vi.useRealTimers();
    await new Promise((r) => setTimeout(r, 20)); // let Node report unhandled rejections
    expect(unhandled).toEqual([]);
  });

  it("RateLimiter ('local'): the call is not failed by the store's reply", async () => {
    const limiter = new RateLimiter({ limit: 10, interval: 1_000, store: createStore(broken()), key: 'k' });
    await expect(limiter.execute(() => 'ok')).resolves.toBe('ok');
  });
});
