// retryWithBackoff on real short timers.
import { assert, delay, describe, test, trackedController } from '../harness.mjs';
import { flaky, record } from './helpers.mjs';

export function register(bw) {
  const {
    retryWithBackoff,
    BrokenCircuitError,
    IsolatedCircuitError,
    BulkheadRejectedError,
    TimeoutError,
    RateLimitedError,
  } = bw;

  describe('retryWithBackoff', () => {
    test('retries a failing call until it succeeds, counting attempts in ctx.attempt', async () => {
      const retry = retryWithBackoff({ initialDelay: 1, jitter: 'none' });
      const seen = record(retry, 'retry', 'success', 'giveUp');
      const { fn, calls } = flaky(2);
      assert.equal(await retry.execute(fn), 'ok');
      assert.deepEqual(calls, [1, 2, 3]);
      assert.deepEqual(
        seen.map(([event, p]) => [event, p.attempt ?? p.attempts, p.delay, p.error?.message]),
        [
          ['retry', 1, 1, 'failure 1'],
          ['retry', 2, 2, 'failure 2'],
          ['success', 3, undefined, undefined],
        ],
      );
    });

    test('rethrows the last error when retries run out', async () => {
      const retry = retryWithBackoff({ maxRetries: 2, initialDelay: 1 });
      const seen = record(retry, 'giveUp');
      const { fn, calls } = flaky(10);
      const error = await assert.rejects(retry.execute(fn), Error);
      assert.equal(error.message, 'failure 3');
      assert.equal(calls.length, 3);
      assert.equal(seen.length, 1);
      assert.equal(seen[0][1].attempts, 3);
      assert.equal(seen[0][1].reason, 'maxRetries');
      assert.equal(seen[0][1].error, error);
    });

    test('retries handled results and returns the last one when retries run out', async () => {
      const retry = retryWithBackoff({ maxRetries: 2, initialDelay: 1, handleResult: (v) => v.status === 503 });
      let calls = 0;
      const last = await retry.execute(() => ({ status: 503, call: ++calls }));
      assert.deepEqual(last, { status: 503, call: 3 });
      let n = 0;
      assert.deepEqual(await retry.execute(() => (++n < 2 ? { status: 503 } : { status: 200 })), { status: 200 });
    });

    test('maxRetries 0 calls once; Infinity is allowed', async () => {
      const { fn, calls } = flaky(1);
      await assert.rejects(retryWithBackoff({ maxRetries: 0 }).execute(fn), Error);
      assert.equal(calls.length, 1);
      const many = flaky(5);
      assert.equal(await retryWithBackoff({ maxRetries: Infinity, initialDelay: 0 }).execute(many.fn), 'ok');
      assert.equal(many.calls.length, 6);
    });

    test('passes errors that handle refuses straight through', async () => {
      const retry = retryWithBackoff({ initialDelay: 1, handle: (e) => e.message === 'retry me' });
      let calls = 0;
      const error = await assert.rejects(
        retry.execute(() => {
          calls++;
          throw new Error('fatal');
        }),
        Error,
      );
      assert.equal(error.message, 'fatal');
      assert.equal(calls, 1);
    });

    test('does not retry load-shedding errors by default, also from another copy of the package (by name)', async () => {
      class BrokenCircuitErrorCopy extends Error {
        name = 'BrokenCircuitError';
      }
      const shed = [
        new BrokenCircuitError(),
        new IsolatedCircuitError(),
        new BulkheadRejectedError(),
        new BrokenCircuitErrorCopy('from a second copy'),
      ];
      for (const error of shed) {
        let calls = 0;
        const thrown = await assert.rejects(
          retryWithBackoff({ initialDelay: 1 }).execute(() => {
            calls++;
            throw error;
          }),
          Error,
        );
        assert.equal(thrown, error);
        assert.equal(calls, 1, `${error.name} was retried`);
      }
      // Anything else, a TimeoutError or a RateLimitedError included, is retried.
      for (const error of [new TimeoutError(), new RateLimitedError(undefined, { retryAfter: 1 }), 'a string']) {
        let calls = 0;
        await assert.rejects(
          retryWithBackoff({ maxRetries: 1, initialDelay: 1 }).execute(() => {
            calls++;
            throw error;
          }),
          () => true,
        );
        assert.equal(calls, 2, `${String(error)} was not retried`);
      }
    });

    test('follows the exponential schedule without jitter, capped at maxDelay', async () => {
      const retry = retryWithBackoff({ maxRetries: 4, initialDelay: 1, multiplier: 2, maxDelay: 5, jitter: 'none' });
      const seen = record(retry, 'retry');
      await assert.rejects(retry.execute(flaky(9).fn), Error);
      assert.deepEqual(seen.map(([, p]) => p.delay), [1, 2, 4, 5]);
    });

    test('jitters within its bounds with the given random source', async () => {
      const cases = [
        ['full', 0.5, [2, 4]],
        ['equal', 0.5, [3, 6]],
        ['decorrelated', 0.5, [8, 14]],
      ];
      for (const [jitter, r, expected] of cases) {
        const retry = retryWithBackoff({ maxRetries: 2, initialDelay: 4, jitter, random: () => r });
        const seen = record(retry, 'retry');
        await assert.rejects(retry.execute(flaky(9).fn), Error);
        assert.deepEqual(seen.map(([, p]) => p.delay), expected, jitter);
      }
    });

    test('uses a custom delay function and a retryAfter hint (capped by maxDelay)', async () => {
      const custom = retryWithBackoff({ maxRetries: 2, delay: (attempt) => attempt * 2 });
      const seenCustom = record(custom, 'retry');
      await assert.rejects(custom.execute(flaky(9).fn), Error);
      assert.deepEqual(seenCustom.map(([, p]) => p.delay), [2, 4]);

      const hinted = retryWithBackoff({ maxRetries: 2, initialDelay: 60_000, maxDelay: 5 });
      const seenHint = record(hinted, 'retry');
      let n = 0;
      const hints = [3, 50_000];
      await assert.rejects(
        hinted.execute(() => {
          throw Object.assign(new Error('busy'), { retryAfter: hints[n++] ?? 0 });
        }),
        Error,
      );
      assert.deepEqual(seenHint.map(([, p]) => p.delay), [3, 5]);
    });

    test('gives up rather than schedule a retry past maxElapsedTime', async () => {
      const retry = retryWithBackoff({ initialDelay: 60_000, jitter: 'none', maxElapsedTime: 20 });
      const seen = record(retry, 'giveUp');
      const { fn, calls } = flaky(9);
      await assert.rejects(retry.execute(fn), Error);
      assert.equal(calls.length, 1);
      assert.equal(seen[0][1].reason, 'maxElapsedTime');
    });

    test('asks a budget before every retry and gives up when it refuses', async () => {
      let firsts = 0;
      let asked = 0;
      const budget = { onFirstAttempt: () => firsts++, tryRetry: () => ++asked <= 1 };
      const retry = retryWithBackoff({ initialDelay: 1, budget });
      const seen = record(retry, 'giveUp');
      const { fn, calls } = flaky(9);
      await assert.rejects(retry.execute(fn), Error);
      assert.equal(firsts, 1);
      assert.equal(calls.length, 2);
      assert.equal(seen[0][1].reason, 'budget');
    });

    test('an abort during a delay rejects at once with the reason and starts no further attempt', async () => {
      const caller = trackedController();
      const retry = retryWithBackoff({ initialDelay: 60_000, jitter: 'none' });
      let calls = 0;
      const result = retry.execute(() => {
        calls++;
        throw new Error('down');
      }, caller.signal);
      await delay(5);
      const reason = new Error('caller gave up');
      caller.abort(reason);
      assert.equal(await assert.rejects(result, Error), reason);
      await delay(5);
      assert.equal(calls, 1);
      assert.equal(caller.listeners(), 0, 'abort listeners left on the caller signal');
    });

    test("never retries the caller's own abort, whatever handle says", async () => {
      const caller = trackedController();
      let calls = 0;
      const reason = new Error('stop');
      const error = await assert.rejects(
        retryWithBackoff({ initialDelay: 1, handle: () => true }).execute(() => {
          calls++;
          caller.abort(reason);
          throw reason;
        }, caller.signal),
        Error,
      );
      assert.equal(error, reason);
      assert.equal(calls, 1);
    });

    test('rejects invalid options when created, naming the option', () => {
      assert.throws(() => retryWithBackoff({ maxRetries: -1 }), RangeError, 'maxRetries');
      assert.throws(() => retryWithBackoff({ maxRetries: 1.5 }), RangeError, 'maxRetries');
      assert.throws(() => retryWithBackoff({ initialDelay: Number.NaN }), RangeError, 'initialDelay');
      assert.throws(() => retryWithBackoff({ initialDelay: '100' }), TypeError, 'initialDelay');
      assert.throws(() => retryWithBackoff({ jitter: 'sometimes' }), RangeError, 'jitter');
      assert.throws(() => retryWithBackoff({ handle: true }), TypeError, 'handle');
      assert.throws(() => retryWithBackoff(null), TypeError);
      // A key set to undefined means the default.
      retryWithBackoff({ maxRetries: undefined, jitter: undefined });
    });
  });

}
