// Composition in wrap(): order, nesting, user policies, and how aborts and
// deadlines flow through a pipeline.
import { assert, delay, never, test, describe, trackedController } from '../harness.mjs';

/** A user's own policy (a plain object with execute) that logs around the call. */
function tracer(name, log) {
  return {
    async execute(fn, signal) {
      log.push(`${name}>`);
      try {
        return await fn({ signal: signal ?? new AbortController().signal, attempt: 1 });
      } finally {
        log.push(`<${name}`);
      }
    },
  };
}

export function register(bw) {
  const { wrap, retryWithBackoff, withTimeout, withFallback, PolicyWrap, TimeoutError, CircuitBreaker, Bulkhead, hedge, RateLimiter } = bw;

  describe('wrap', () => {
    test('runs the first policy outermost and fn inside the last', async () => {
      const log = [];
      const pipeline = wrap(tracer('a', log), tracer('b', log), tracer('c', log));
      assert.ok(pipeline instanceof PolicyWrap);
      assert.equal(
        await pipeline.execute(() => {
          log.push('fn');
          return 'v';
        }),
        'v',
      );
      assert.deepEqual(log, ['a>', 'b>', 'c>', 'fn', '<c', '<b', '<a']);
    });

    test('with no policies runs fn directly; nested wraps flatten', async () => {
      assert.equal(await wrap().execute(() => 'direct'), 'direct');
      const inner = wrap(withTimeout(100), retryWithBackoff());
      const outer = wrap(withFallback(0), inner, wrap());
      assert.equal(outer.policies.length, 3);
      assert.equal(await outer.execute(() => 'nested'), 'nested');
    });

    test('rejects an argument that is not a policy', () => {
      assert.throws(() => wrap(withTimeout(1), {}), TypeError, 'wrap');
      assert.throws(() => wrap(null), TypeError, 'wrap');
    });

    test("a user's own policy composes with the built-in ones inside a retry", async () => {
      const log = [];
      const pipeline = wrap(retryWithBackoff({ initialDelay: 1 }), tracer('mine', log), withTimeout(1_000));
      let n = 0;
      const value = await pipeline.execute(() => {
        if (++n < 3) throw new Error('again');
        return 'third time';
      });
      assert.equal(value, 'third time');
      assert.deepEqual(log, ['mine>', '<mine', 'mine>', '<mine', 'mine>', '<mine']);
    });

    test('a timeout outside a retry bounds all attempts together, and no attempt starts after it', async () => {
      let calls = 0;
      const pipeline = wrap(withTimeout(20), retryWithBackoff({ maxRetries: Infinity, initialDelay: 2, jitter: 'none', multiplier: 1 }));
      const error = await assert.rejects(
        pipeline.execute(() => {
          calls++;
          throw new Error('down');
        }),
        TimeoutError,
      );
      assert.equal(error.timeout, 20);
      assert.ok(calls >= 1, 'fn never ran');
      const after = calls;
      await delay(10);
      assert.equal(calls, after, 'an attempt started after the timeout');
    });

    test('a timeout inside a retry bounds each attempt', async () => {
      const retry = retryWithBackoff({ maxRetries: 3, initialDelay: 1 });
      const errors = [];
      retry.on('retry', ({ error }) => errors.push(error));
      const signals = [];
      const value = await wrap(retry, withTimeout(5)).execute((ctx) => {
        signals.push(ctx.signal);
        return ctx.attempt < 3 ? never() : `attempt ${ctx.attempt}`;
      });
      assert.equal(value, 'attempt 3');
      assert.equal(errors.length, 2);
      assert.ok(errors.every((e) => e instanceof TimeoutError), 'retried something else than TimeoutErrors');
      assert.deepEqual(signals.map((s) => s.aborted), [true, true, false]);
      assert.ok(signals[0] !== signals[1], 'attempts share a signal');
    });

    test('a fallback outside catches what retry gives up on', async () => {
      const fallback = withFallback((outcome) => `fallback after ${outcome.error.name}`);
      const pipeline = wrap(fallback, retryWithBackoff({ maxRetries: 1, initialDelay: 1 }), withTimeout(3));
      assert.equal(await pipeline.execute(() => never()), 'fallback after TimeoutError');
    });

    test("the caller's abort reaches ctx.signal through the pipeline; nothing retries or falls back", async () => {
      const caller = trackedController();
      let calls = 0;
      const pipeline = wrap(withFallback('hidden'), retryWithBackoff({ initialDelay: 1 }), withTimeout(1_000));
      let signal;
      const pending = pipeline.execute((ctx) => {
        calls++;
        signal = ctx.signal;
        return new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));
      }, caller.signal);
      await delay(3);
      const reason = new Error('navigated away');
      caller.abort(reason);
      assert.equal(await assert.rejects(pending, Error), reason);
      assert.equal(signal.reason, reason);
      assert.equal(calls, 1);
      assert.equal(caller.listeners(), 0, 'abort listeners left on the caller signal');
    });

    test("a finished call leaves no listener on the caller's long-lived signal", async () => {
      const caller = trackedController();
      const pipeline = wrap(withFallback(0), retryWithBackoff({ initialDelay: 1 }), withTimeout(1_000));
      for (let i = 0; i < 5; i++) {
        let n = 0;
        await pipeline.execute((ctx) => {
          void ctx.signal; // reading it links the pipeline's scopes to the caller's signal
          if (++n < 2) throw new Error('once');
          return n;
        }, caller.signal);
      }
      assert.equal(caller.listeners(), 0);
      assert.equal(caller.signal.aborted, false);
    });

    test('every policy keeps the execute contract: already-aborted signal, sync throw, plain value', async () => {
      const { RetryBudget, chaos } = bw;
      const all = () => [
        new CircuitBreaker(),
        new Bulkhead({ maxConcurrent: 1 }),
        new RateLimiter({ limit: 1_000, interval: 1_000 }),
        hedge({ delay: 1_000 }),
        chaos({ faultRate: 0 }),
        retryWithBackoff({ initialDelay: 1, budget: new RetryBudget(), handle: () => false }),
      ];
      for (const policy of all()) {
        const name = policy.constructor.name;
        const reason = new Error(`gone ${name}`);
        let called = false;
        assert.equal(await assert.rejects(policy.execute(() => (called = true), AbortSignal.abort(reason)), Error), reason, name);
        assert.equal(called, false, `${name} called fn with an aborted signal`);
        const boom = new Error('sync');
        assert.equal(
          await assert.rejects(
            policy.execute(() => {
              throw boom;
            }),
            Error,
          ),
          boom,
          name,
        );
        assert.equal(await policy.execute(() => 7), 7, name);
      }
    });

    test('every policy in one pipeline: a flaky call is hedged, retried, counted, bounded and answered', async () => {
      const breaker = new CircuitBreaker({ failureThreshold: 100 });
      const bulkhead = new Bulkhead({ maxConcurrent: 4, maxQueue: 8 });
      const limiter = new RateLimiter({ limit: 100, interval: 1_000 });
      const pipeline = wrap(
        withFallback('fallback'),
        withTimeout(1_000),
        retryWithBackoff({ maxRetries: 3, initialDelay: 1 }),
        breaker,
        bulkhead,
        limiter,
        hedge({ delay: 3 }),
        withTimeout(50),
      );
      const caller = trackedController();
      let calls = 0;
      const results = await Promise.all(
        [0, 1, 2, 3, 4, 5].map((i) =>
          pipeline.execute((ctx) => {
            calls++;
            // Some first tries fail (retried or hedged); call 5 never answers (the fallback answers it).
            if (i === 5) return never();
            return ctx.attempt === 1 && calls % 2 === 1 ? Promise.reject(new Error('flaky')) : `call ${i}`;
          }, caller.signal),
        ),
      );
      assert.deepEqual(results.slice(0, 5), ['call 0', 'call 1', 'call 2', 'call 3', 'call 4']);
      assert.equal(results[5], 'fallback');
      assert.equal(breaker.state, 'closed');
      assert.equal(bulkhead.active, 0);
      assert.equal(caller.listeners(), 0);
    });
  });
}
