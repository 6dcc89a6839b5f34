// Review (issue 14): with onStoreError 'local' each outage makes a NEW local bucket, full
// (fleet-limiter.ts #fallback, dropped at the next reply). A store that flaps — latency spikes
// past its timeout every few hundred ms, a common sight on a loaded Redis — hands every
// instance a fresh burst of its share at every spike, so the fleet admits several times
// `limit` per interval: more than the fleet's bucket plus what one local bucket of the
// instance's share allows (the contract's bound: "over-admission bounded by what the local
// fallback allows").
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createMemoryStore, createStore, RateLimiter } from '../../src/index.js';
import { gated } from './harness/gated.js';

describe('review: a flapping store and the local fallback', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it('admits no more than the fleet bucket plus one local bucket of the share would', async () => {
    const engine = createMemoryStore().link.backend;
    const t0 = Date.now();
    // Down for 150 ms of every 400 ms.
    const down = (): boolean => (Date.now() - t0) % 400 >= 250;
    const backend = gated(engine, (run) => (down() ? Promise.reject(new Error('ETIMEDOUT')) : run()));
    const store = createStore(backend, { timeout: 50 });
    const limit = 10;
    const seconds = 4;
    const limiter = new RateLimiter({ limit, interval: 1_000, store, key: 'flap' });
    let admitted = 0;
    let outages = 0;
    limiter.on('storeError', () => outages++);
    for (let t = 0; t < seconds * 1_000; t += 5) {
      void limiter.execute(() => admitted++).catch(() => {});
      await vi.advanceTimersByTimeAsync(5);
    }
    expect(outages).toBeGreaterThanOrEqual(8);
    // One instance: the fleet's bucket (limit + limit per second) and one local bucket of its
    // share (the same) together: 2 × limit × (seconds + 1) = 100 at most.
    expect(admitted).toBeLessThanOrEqual(2 * limit * (seconds + 1));
  });
});
