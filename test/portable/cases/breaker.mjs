// CircuitBreaker on real short timers: open, half-open, close, isolate, snapshots.
import { assert, delay, describe, never, test, trackedController } from '../harness.mjs';

const fail = () => Promise.reject(new Error('down'));

async function failTimes(breaker, n) {
  for (let i = 0; i < n; i++) await breaker.execute(fail).catch(() => {});
}

export function register(bw) {
  const { CircuitBreaker, BrokenCircuitError, IsolatedCircuitError } = bw;

  describe('CircuitBreaker', () => {
    test('opens after failureThreshold consecutive failures and then rejects at once without calling fn', async () => {
      const breaker = new CircuitBreaker({ failureThreshold: 3, openDuration: 10_000 });
      const seen = [];
      breaker.on('stateChange', (e) => seen.push(`${e.from}->${e.to}`));
      breaker.on('rejected', (e) => seen.push(`rejected ${e.state}`));
      await failTimes(breaker, 2);
      await breaker.execute(() => 'ok'); // a success resets the consecutive count
      await failTimes(breaker, 2);
      assert.equal(breaker.state, 'closed');
      await failTimes(breaker, 1);
      assert.equal(breaker.state, 'open');
      let called = false;
      const error = await assert.rejects(breaker.execute(() => (called = true)), BrokenCircuitError);
      assert.equal(called, false);
      assert.ok(error.retryAfter > 0 && error.retryAfter <= 10_000, `retryAfter ${error.retryAfter}`);
      assert.deepEqual(seen, ['closed->open', 'rejected open']);
      assert.equal(breaker.stats().rejections, 1);
    });

    test('reads half-open once openDuration passed; a successful trial closes, a failed one reopens', async () => {
      // Long enough that a busy machine cannot pass it between two statements.
      const breaker = new CircuitBreaker({ failureThreshold: 1, openDuration: 40 });
      const seen = [];
      breaker.on('stateChange', (e) => seen.push(e.to));
      await failTimes(breaker, 1);
      assert.equal(breaker.state, 'open');
      await delay(60);
      assert.equal(breaker.state, 'half-open');
      await failTimes(breaker, 1);
      assert.equal(breaker.state, 'open');
      await delay(60);
      assert.equal(await breaker.execute(() => 'trial'), 'trial');
      assert.equal(breaker.state, 'closed');
      assert.deepEqual(seen, ['open', 'half-open', 'open', 'half-open', 'closed']);
    });

    test('admits halfOpenMaxCalls trials at once and rejects the rest', async () => {
      // After another openDuration a hung trial is given up on: keep it long enough for a busy machine.
      const breaker = new CircuitBreaker({ failureThreshold: 1, openDuration: 40, halfOpenMaxCalls: 1 });
      await failTimes(breaker, 1);
      await delay(60);
      let release;
      const trial = breaker.execute(() => new Promise((resolve) => (release = resolve)));
      const error = await assert.rejects(breaker.execute(() => 'second'), BrokenCircuitError);
      assert.equal(error.name, 'BrokenCircuitError');
      release('done');
      assert.equal(await trial, 'done');
      assert.equal(breaker.state, 'closed');
    });

    test('counts handled results, not errors that handle refuses, nor the caller abort', async () => {
      const breaker = new CircuitBreaker({
        failureThreshold: 2,
        handle: (e) => e.message !== 'ignored',
        handleResult: (v) => v === 503,
      });
      await breaker.execute(() => Promise.reject(new Error('ignored'))).catch(() => {});
      await breaker.execute(() => Promise.reject(new Error('ignored'))).catch(() => {});
      assert.equal(breaker.state, 'closed');
      const caller = trackedController();
      const pending = breaker.execute(
        (ctx) => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true })),
        caller.signal,
      );
      caller.abort(new Error('left'));
      await pending.catch(() => {});
      await breaker.execute(() => Promise.reject(new Error('counted'))).catch(() => {});
      assert.equal(breaker.state, 'closed');
      assert.equal(await breaker.execute(() => 503), 503);
      assert.equal(breaker.state, 'open');
      assert.equal(caller.listeners(), 0);
    });

    test('opens on a failure rate once the window holds minimumCalls', async () => {
      const breaker = new CircuitBreaker({ failureRateThreshold: 0.5, minimumCalls: 4, windowSize: 10 });
      await breaker.execute(() => 1);
      await failTimes(breaker, 1);
      await breaker.execute(() => 1);
      assert.equal(breaker.state, 'closed');
      await failTimes(breaker, 1);
      assert.equal(breaker.state, 'open');
      const stats = breaker.stats();
      assert.equal(stats.calls, 4);
      assert.equal(stats.failures, 2);
    });

    test('opens on slow calls', async () => {
      const breaker = new CircuitBreaker({ slowCallDuration: 5, slowCallRateThreshold: 1, minimumCalls: 1 });
      assert.equal(await breaker.execute(() => delay(20).then(() => 'slow')), 'slow');
      assert.equal(breaker.state, 'open');
      assert.equal(breaker.stats().slowCalls, 1);
    });

    test('isolate() holds it open until released; reset() closes it', async () => {
      const breaker = new CircuitBreaker();
      const release = breaker.isolate();
      assert.equal(breaker.state, 'isolated');
      const error = await assert.rejects(breaker.execute(() => 1), IsolatedCircuitError);
      assert.equal(error.retryAfter, Infinity);
      assert.ok(error instanceof BrokenCircuitError);
      release();
      assert.equal(await breaker.execute(() => 'back'), 'back');
      await failTimes(new CircuitBreaker(), 1);
      const other = new CircuitBreaker({ failureThreshold: 1 });
      await failTimes(other, 1);
      assert.equal(other.state, 'open');
      other.reset();
      assert.equal(other.state, 'closed');
      assert.equal(other.stats().failures, 0);
    });

    test('a JSON snapshot restores an open circuit that stays open', async () => {
      const breaker = new CircuitBreaker({ failureThreshold: 1, openDuration: 10_000 });
      await failTimes(breaker, 1);
      const snapshot = JSON.parse(JSON.stringify(breaker));
      const restored = new CircuitBreaker({ failureThreshold: 1, openDuration: 10_000, initialState: snapshot });
      assert.equal(restored.state, 'open');
      const error = await assert.rejects(restored.execute(() => 1), BrokenCircuitError);
      assert.ok(error.retryAfter > 0 && error.retryAfter <= 10_000);
    });

    test('a hung trial does not block it: after another openDuration a new trial is admitted', async () => {
      const breaker = new CircuitBreaker({ failureThreshold: 1, openDuration: 5 });
      await failTimes(breaker, 1);
      await delay(12);
      void breaker.execute(() => never()); // hangs for ever
      await delay(15);
      assert.equal(await breaker.execute(() => 'new trial'), 'new trial');
    });

    test('rejects invalid options when created, naming the option', () => {
      assert.throws(() => new CircuitBreaker({ failureThreshold: -1 }), RangeError, 'failureThreshold');
      assert.throws(() => new CircuitBreaker({ failureRateThreshold: 2 }), RangeError, 'failureRateThreshold');
      assert.throws(() => new CircuitBreaker({ openDuration: 'long' }), TypeError, 'openDuration');
    });
  });
}
