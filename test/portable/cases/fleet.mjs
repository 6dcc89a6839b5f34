// Fleet state on every runtime: createMemoryStore's shared rate limit and retry
// budget, and createRedisStore over a `send` that speaks just enough Redis, so the
// store code runs on each runtime's own timers, promises and number formatting.
import { assert, delay, describe, test } from '../harness.mjs';

export function register(bw) {
  const { createMemoryStore, createRedisStore, RateLimiter, RateLimitedError, RetryBudget } = bw;

  describe('fleet state', () => {
    test('limiters sharing a memory store and key draw from one bucket', async () => {
      const store = createMemoryStore();
      const limiters = [1, 2, 3].map(() => new RateLimiter({ limit: 4, interval: 60_000, store, key: 'api' }));
      const results = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => limiters[i % 3].execute(() => 'ok')));
      const admitted = results.filter((r) => r.status === 'fulfilled').length;
      assert.equal(admitted, 4);
      const refused = results.find((r) => r.status === 'rejected');
      assert.ok(refused.reason instanceof RateLimitedError, 'a RateLimitedError');
      assert.ok(refused.reason.retryAfter > 0 && refused.reason.retryAfter <= 60_000, `retryAfter ${refused.reason.retryAfter}`);
      // Another key is another bucket.
      const other = new RateLimiter({ limit: 1, interval: 60_000, store, key: 'other' });
      assert.equal(await other.execute(() => 'ok'), 'ok');
    });

    test('budgets sharing a memory store and key share one floor, and stop their timers when idle', async () => {
      const store = createMemoryStore();
      // A 100 ms window syncs every 10 ms: the first reply comes within the test.
      const budgets = [1, 2, 3].map(() => new RetryBudget({ ratio: 0, minRetriesPerSecond: 30, window: 100, store, key: 'db' }));
      for (const b of budgets) b.onFirstAttempt();
      await delay(40);
      let allowed = 0;
      for (let i = 0; i < 30; i++) for (const b of budgets) if (b.tryRetry()) allowed++;
      // One floor of 30/s over 100 ms = 3 retries for the fleet, not 3 each.
      assert.ok(allowed >= 1 && allowed <= 4, `allowed ${allowed}`);
      await delay(120); // idle: each budget leaves the fleet and stops its timer (the harness checks)
    });

    test('createRedisStore goes local at once when send fails, and rejects nothing', async () => {
      let sent = 0;
      const store = createRedisStore({ send: () => (sent++, Promise.reject(new Error('ECONNREFUSED'))), timeout: 50 });
      const limiter = new RateLimiter({ limit: 2, interval: 60_000, store, key: 'down' });
      const events = [];
      limiter.on('storeError', () => events.push('storeError'));
      const results = await Promise.allSettled([1, 2, 3].map(() => limiter.execute(() => 'ok')));
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 2); // the local share: all of limit, one instance
      assert.deepEqual(events, ['storeError']);
      assert.ok(sent >= 1);
      await delay(150); // the background probe fails once and pauses: no timer left (the harness checks)
    });
  });
}
