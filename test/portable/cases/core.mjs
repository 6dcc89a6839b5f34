// The foundation policies one by one: retry, timeout, fallback, errors, events,
// and the execute contract every policy keeps.
import { assert, delay, describe, never, test, trackedController } from '../harness.mjs';

/** A function that fails `failures` times with distinct errors, then returns `value`. */
function flaky(failures, value = 'ok') {
  const calls = [];
  const fn = (ctx) => {
    calls.push(ctx.attempt);
    if (calls.length <= failures) throw new Error(`failure ${calls.length}`);
    return value;
  };
  return { fn, calls };
}

function record(policy, ...events) {
  const seen = [];
  for (const event of events) policy.on(event, (payload) => seen.push([event, payload]));
  return seen;
}

export function register(bw) {
  const {
    retryWithBackoff,
    withTimeout,
    withFallback,
    wrap,
    ResilienceError,
    BrokenCircuitError,
    IsolatedCircuitError,
    BulkheadRejectedError,
    TimeoutError,
    RateLimitedError,
  } = bw;

  describe('execute', () => {
    const policies = () => [
      ['retryWithBackoff', retryWithBackoff({ initialDelay: 1 })],
      ['withTimeout', withTimeout(1_000)],
      ['withFallback', withFallback('fallback', { handle: () => false })],
      ['wrap()', wrap()],
      ['wrap(all)', wrap(withFallback('x', { handle: () => false }), retryWithBackoff({ handle: () => false }), withTimeout(1_000))],
    ];

    test('returns a promise for a plain value and for a thenable', async () => {
      for (const [name, policy] of policies()) {
        const result = policy.execute(() => 42);
        assert.ok(result instanceof Promise, `${name} returned no promise`);
        assert.equal(await result, 42, name);
        const thenable = { then: (resolve) => resolve('then') };
        assert.equal(await policy.execute(() => thenable), 'then', name);
      }
    });

    test('turns a synchronous throw into a rejection', async () => {
      for (const [name, policy] of policies()) {
        const boom = new Error('sync');
        let result;
        try {
          result = policy.execute(() => {
            throw boom;
          });
        } catch {
          assert.ok(false, `${name} threw synchronously`);
        }
        assert.equal(await assert.rejects(result, Error), boom, name);
      }
    });

    test('does not call fn when the signal is already aborted, and rejects with its reason', async () => {
      for (const [name, policy] of policies()) {
        const reason = new Error(`gone ${name}`);
        let called = false;
        const error = await assert.rejects(
          policy.execute(() => (called = true), AbortSignal.abort(reason)),
          Error,
        );
        assert.equal(error, reason, name);
        assert.equal(called, false, `${name} called fn`);
      }
    });

    test('passes a context with an unaborted signal and attempt 1', async () => {
      for (const [name, policy] of policies()) {
        const ctx = await policy.execute((c) => ({ attempt: c.attempt, signal: c.signal }));
        assert.equal(ctx.attempt, 1, name);
        assert.ok(ctx.signal instanceof AbortSignal, `${name}: no AbortSignal`);
        assert.equal(ctx.signal.aborted, false, name);
      }
    });
  });

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

  describe('errors', () => {
    test('every error has its name, extends ResilienceError and keeps cause and data', () => {
      const cause = new Error('root');
      const cases = [
        [new ResilienceError('m', { cause }), 'ResilienceError'],
        [new BrokenCircuitError('m', { cause, retryAfter: 7 }), 'BrokenCircuitError'],
        [new IsolatedCircuitError('m', { cause }), 'IsolatedCircuitError'],
        [new BulkheadRejectedError('m', { cause, reason: 'queue-timeout' }), 'BulkheadRejectedError'],
        [new TimeoutError('m', { cause, timeout: 9 }), 'TimeoutError'],
        [new RateLimitedError('m', { cause, retryAfter: 3 }), 'RateLimitedError'],
      ];
      for (const [error, name] of cases) {
        assert.equal(error.name, name);
        assert.ok(error instanceof ResilienceError && error instanceof Error, `${name} hierarchy`);
        assert.equal(error.cause, cause, `${name}.cause`);
        assert.equal(error.message, 'm');
        assert.ok(String(error.stack).length > 0, `${name} has no stack`);
      }
      assert.equal(cases[1][0].retryAfter, 7);
      assert.ok(cases[2][0] instanceof BrokenCircuitError);
      assert.equal(cases[2][0].retryAfter, Infinity);
      assert.equal(cases[3][0].reason, 'queue-timeout');
      assert.equal(new BulkheadRejectedError().reason, 'full');
      assert.equal(cases[4][0].timeout, 9);
      assert.equal(cases[5][0].retryAfter, 3);
    });
  });

  describe('events', () => {
    test('on returns an unsubscribe function, and a throwing listener changes nothing', async () => {
      const retry = retryWithBackoff({ initialDelay: 1 });
      let heard = 0;
      retry.on('retry', () => {
        throw new Error('listener bug');
      });
      const off = retry.on('retry', () => heard++);
      assert.equal(await retry.execute(flaky(1).fn), 'ok');
      assert.equal(heard, 1);
      off();
      off();
      assert.equal(await retry.execute(flaky(1).fn), 'ok');
      assert.equal(heard, 1);
      assert.throws(() => retry.on('retry', 'not a function'), TypeError);
    });
  });
}
