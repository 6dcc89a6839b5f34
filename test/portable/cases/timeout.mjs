// withTimeout and withFallback on real short timers.
import { assert, delay, describe, never, test, trackedController } from '../harness.mjs';
import { record } from './helpers.mjs';

export function register(bw) {
  const { withTimeout, withFallback, ResilienceError, TimeoutError } = bw;

  describe('withTimeout', () => {
    test('aggressive: rejects with a TimeoutError at the deadline and aborts ctx.signal with it', async () => {
      const timeout = withTimeout(5);
      const seen = record(timeout, 'timeout');
      let signal;
      const error = await assert.rejects(
        timeout.execute((ctx) => {
          signal = ctx.signal;
          return never();
        }),
        TimeoutError,
      );
      assert.equal(error.timeout, 5);
      assert.ok(error instanceof ResilienceError);
      assert.equal(signal.aborted, true);
      assert.equal(signal.reason, error);
      assert.deepEqual(seen, [['timeout', { timeout: 5 }]]);
    });

    test('aggressive: a late rejection of the abandoned call is not unhandled', async () => {
      await assert.rejects(
        withTimeout(2).execute(async () => {
          await delay(10);
          throw new Error('late');
        }),
        TimeoutError,
      );
      await delay(15);
    });

    test('cooperative: aborts ctx.signal and waits for fn; a value is returned', async () => {
      const value = await withTimeout(5, { strategy: 'cooperative' }).execute(
        (ctx) =>
          new Promise((resolve) => {
            ctx.signal.addEventListener('abort', () => resolve(`stopped by ${ctx.signal.reason.name}`));
          }),
      );
      assert.equal(value, 'stopped by TimeoutError');
    });

    test('cooperative: an error after the deadline becomes a TimeoutError with it as cause', async () => {
      const boom = new Error('driver cancelled');
      const error = await assert.rejects(
        withTimeout(5, { strategy: 'cooperative' }).execute(
          (ctx) => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(boom))),
        ),
        TimeoutError,
      );
      assert.equal(error.cause, boom);
      assert.equal(error.timeout, 5);
    });

    test('a call that ends in time leaves no timer and never aborts its signal afterwards', async () => {
      let signal;
      const value = await withTimeout(10).execute((ctx) => {
        signal = ctx.signal;
        return 'fast';
      });
      assert.equal(value, 'fast');
      await delay(20);
      assert.equal(signal.aborted, false);
    });

    test('an error before the deadline passes through unchanged', async () => {
      const boom = new Error('quick failure');
      assert.equal(await assert.rejects(withTimeout(1_000).execute(() => Promise.reject(boom)), Error), boom);
    });

    test('Infinity never times out; bad ms and options are rejected when created', async () => {
      assert.equal(await withTimeout(Infinity).execute(() => delay(2).then(() => 'done')), 'done');
      assert.throws(() => withTimeout(), TypeError, 'ms');
      assert.throws(() => withTimeout(-1), RangeError, 'ms');
      assert.throws(() => withTimeout('5'), TypeError, 'ms');
      assert.throws(() => withTimeout(5, { strategy: 'optimistic' }), RangeError, 'strategy');
    });
  });

  describe('withFallback', () => {
    test('answers with a value or a function of the outcome on failure', async () => {
      const boom = new Error('down');
      assert.equal(await withFallback('cached').execute(() => Promise.reject(boom)), 'cached');
      const seen = [];
      const fb = withFallback(async (outcome, ctx) => {
        seen.push(outcome, ctx.attempt);
        return 'computed';
      });
      const events = record(fb, 'fallback');
      assert.equal(await fb.execute(() => Promise.reject(boom)), 'computed');
      assert.equal(seen[0].error, boom);
      assert.equal(seen[1], 1);
      assert.equal(events[0][1].error, boom);
      assert.equal(await fb.execute(() => 'fine'), 'fine');
    });

    test('replaces handled results and leaves refused errors alone', async () => {
      const fb = withFallback((o) => `was ${o.value}`, { handleResult: (v) => v === 503, handle: (e) => e.message !== 'fatal' });
      assert.equal(await fb.execute(() => 503), 'was 503');
      assert.equal(await fb.execute(() => 200), 200);
      const fatal = new Error('fatal');
      assert.equal(await assert.rejects(fb.execute(() => Promise.reject(fatal)), Error), fatal);
    });

    test("never replaces the caller's own abort", async () => {
      const caller = trackedController();
      const reason = new Error('user left');
      const pending = withFallback('fallback').execute(
        (ctx) => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason))),
        caller.signal,
      );
      await delay(2);
      caller.abort(reason);
      assert.equal(await assert.rejects(pending, Error), reason);
    });

    test('rejects invalid options when created', () => {
      assert.throws(() => withFallback(1, { handle: 'all' }), TypeError, 'handle');
      assert.throws(() => withFallback(1, 5), TypeError);
    });
  });

}
