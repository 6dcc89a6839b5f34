// Review (issue 14): storeError once per outage. With a store timeout longer than the
// first probe's delay (100 ms; the bench and examples use 250-1000 ms), an operation sent
// before the outage began times out after the probe already found the store back: the link
// goes down again and every policy emits a second storeError/storeRecovered pair for the one
// outage, and its calls go local again for a while though the store answers.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createMemoryStore, createStore, RateLimiter, type StoreBackend } from '../../src/index.js';

describe('review: a late timeout of an operation from before the outage', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it('one outage, one storeError and one storeRecovered', async () => {
    const engine = createMemoryStore().link.backend;
    let mode: 'hang-once' | 'error' | 'ok' = 'hang-once';
    const backend: StoreBackend = {
      rateLimit: (key, q) => {
        if (mode === 'hang-once') {
          mode = 'error';
          return new Promise(() => {}); // its reply is lost with the old connection
        }
        if (mode === 'error') return Promise.reject(new Error('ECONNRESET'));
        return engine.rateLimit(key, q);
      },
      breaker: (key, q) => engine.breaker(key, q),
      budget: (key, q) => engine.budget(key, q),
      ping: () => (mode === 'ok' ? Promise.resolve('PONG') : Promise.reject(new Error('ECONNREFUSED'))),
    };
    const store = createStore(backend, { timeout: 1_000 });
    const limiter = new RateLimiter({ limit: 1_000, interval: 1_000, store, key: 'k' });
    const events: string[] = [];
    limiter.on('storeError', () => events.push('storeError'));
    limiter.on('storeRecovered', () => events.push('storeRecovered'));
    const first = limiter.execute(() => 'ok'); // hangs in the store
    await vi.advanceTimersByTimeAsync(1);
    await limiter.execute(() => 'ok'); // the store fails: the outage begins, this call goes local
    mode = 'ok'; // the server is back (restarted), the probe 100 ms later finds it
    for (let t = 0; t < 2_000; t += 50) {
      await limiter.execute(() => 'ok');
      await vi.advanceTimersByTimeAsync(50);
    }
    await expect(first).resolves.toBe('ok');
    expect(events).toEqual(['storeError', 'storeRecovered']);
  });
});
