// Bulkhead and RateLimiter: slots, FIFO queues, queue timeouts, aborts while waiting.
import { assert, delay, describe, test, trackedController } from '../harness.mjs';

/** A call whose end the test decides. */
function gate() {
  let open;
  const promise = new Promise((resolve) => (open = resolve));
  return { promise, open };
}

export function register(bw) {
  const { Bulkhead, BulkheadRejectedError, RateLimiter, RateLimitedError } = bw;

  describe('Bulkhead', () => {
    test('runs maxConcurrent calls, queues maxQueue more in FIFO order, and rejects the rest at once', async () => {
      const bulkhead = new Bulkhead({ maxConcurrent: 2, maxQueue: 2 });
      const rejected = [];
      bulkhead.on('rejected', (e) => rejected.push(e.reason));
      const order = [];
      const gates = [gate(), gate(), gate(), gate()];
      const calls = gates.map((g, i) =>
        bulkhead.execute(async () => {
          order.push(i);
          await g.promise;
          return i;
        }),
      );
      await delay(1);
      assert.deepEqual(order, [0, 1]);
      assert.equal(bulkhead.active, 2);
      assert.equal(bulkhead.queued, 2);
      let called = false;
      const full = await assert.rejects(bulkhead.execute(() => (called = true)), BulkheadRejectedError);
      assert.equal(full.reason, 'full');
      assert.equal(called, false);
      assert.deepEqual(rejected, ['full']);
      gates[1].open();
      await delay(1);
      assert.deepEqual(order, [0, 1, 2]);
      for (const g of gates) g.open();
      assert.deepEqual(await Promise.all(calls), [0, 1, 2, 3]);
      assert.equal(bulkhead.active, 0);
      assert.equal(bulkhead.queued, 0);
    });

    test('frees the slot when a call fails', async () => {
      const bulkhead = new Bulkhead({ maxConcurrent: 1 });
      await assert.rejects(bulkhead.execute(() => Promise.reject(new Error('x'))), Error);
      assert.equal(await bulkhead.execute(() => 'next'), 'next');
    });

    test('a queued call times out after queueTimeout with reason queue-timeout', async () => {
      const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 1, queueTimeout: 5 });
      const g = gate();
      const running = bulkhead.execute(() => g.promise);
      let called = false;
      const error = await assert.rejects(bulkhead.execute(() => (called = true)), BulkheadRejectedError);
      assert.equal(error.reason, 'queue-timeout');
      assert.equal(called, false);
      assert.equal(bulkhead.queued, 0);
      g.open('done');
      assert.equal(await running, 'done');
    });

    test('a queued call whose signal aborts leaves the queue at once with the reason', async () => {
      const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 5 });
      const g = gate();
      const running = bulkhead.execute(() => g.promise);
      const caller = trackedController();
      let called = false;
      const queued = bulkhead.execute(() => (called = true), caller.signal);
      await delay(1);
      assert.equal(bulkhead.queued, 1);
      const reason = new Error('gave up waiting');
      caller.abort(reason);
      assert.equal(await assert.rejects(queued, Error), reason);
      assert.equal(bulkhead.queued, 0);
      g.open('done');
      await running;
      assert.equal(called, false);
      assert.equal(caller.listeners(), 0);
    });

    test('rejects invalid options when created', () => {
      assert.throws(() => new Bulkhead({ maxConcurrent: 0 }), RangeError, 'maxConcurrent');
      assert.throws(() => new Bulkhead({ maxConcurrent: 1, maxQueue: -1 }), RangeError, 'maxQueue');
      assert.throws(() => new Bulkhead(), TypeError);
    });
  });

  describe('RateLimiter', () => {
    test('lets limit calls through, then rejects with RateLimitedError and when the next token is due', async () => {
      const limiter = new RateLimiter({ limit: 2, interval: 10_000 });
      const seen = [];
      limiter.on('rejected', (e) => seen.push(e.retryAfter));
      assert.equal(await limiter.execute(() => 1), 1);
      assert.equal(await limiter.execute(() => 2), 2);
      let called = false;
      const error = await assert.rejects(limiter.execute(() => (called = true)), RateLimitedError);
      assert.equal(called, false);
      assert.ok(error.retryAfter > 0 && error.retryAfter <= 5_000, `retryAfter ${error.retryAfter}`);
      assert.equal(seen.length, 1);
      assert.equal(limiter.available, 0);
    });

    test('a call waits up to maxWait for its token, in FIFO order', async () => {
      const limiter = new RateLimiter({ limit: 1, interval: 10, maxWait: 1_000 });
      const order = [];
      const calls = [1, 2, 3].map((i) => limiter.execute(() => order.push(i)));
      await Promise.all(calls);
      assert.deepEqual(order, [1, 2, 3]);
    });

    test('a waiting call whose signal aborts leaves the queue at once with the reason', async () => {
      const limiter = new RateLimiter({ limit: 1, interval: 60_000, maxWait: Infinity });
      await limiter.execute(() => 'token spent');
      const caller = trackedController();
      const waiting = limiter.execute(() => 'never', caller.signal);
      await delay(1);
      assert.equal(limiter.queued, 1);
      const reason = new Error('stop');
      caller.abort(reason);
      assert.equal(await assert.rejects(waiting, Error), reason);
      assert.equal(limiter.queued, 0);
      assert.equal(caller.listeners(), 0);
    });

    test('rejects invalid options when created', () => {
      assert.throws(() => new RateLimiter({ limit: 0, interval: 1_000 }), RangeError, 'limit');
      assert.throws(() => new RateLimiter({ limit: 1, interval: -1 }), RangeError, 'interval');
      assert.throws(() => new RateLimiter({ limit: 1 }), TypeError, 'interval');
    });
  });
}
