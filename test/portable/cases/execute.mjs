// The execute contract every policy keeps, errors, and events.
import { assert, describe, test } from '../harness.mjs';
import { flaky } from './helpers.mjs';

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
