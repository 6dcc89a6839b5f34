import { getEventListeners } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { settle, untilAborted } from '../test/helpers/settle.js';
import { TimeoutError } from './errors.js';
import { withFallback } from './fallback.js';
import { type Policy, type PolicyContext, PolicyWrap, wrap } from './policy.js';
import { retryWithBackoff } from './retry.js';
import { withTimeout } from './timeout.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  expect(vi.getTimerCount()).toBe(0);
  vi.useRealTimers();
});


/** A user's own policy: logs around the call and hands fn the signal it was given. */
function tracer(name: string, log: string[]): Policy {
  return {
    async execute(fn, signal) {
      log.push(`enter ${name}`);
      try {
        return await fn({ signal: signal ?? new AbortController().signal, attempt: 1 });
      } finally {
        log.push(`exit ${name}`);
      }
    },
  };
}

describe('execute', () => {
  it('treats a null signal (fetch’s RequestInit.signal may be null) as no signal', async () => {
    const retry = retryWithBackoff();
    await expect(retry.execute(() => 'ok', null as unknown as AbortSignal)).resolves.toBe('ok');
    await expect(wrap(withTimeout(1_000)).execute(({ signal }) => signal.aborted, null as unknown as AbortSignal)).resolves.toBe(false);
  });

  const policies = {
    'wrap()': () => wrap(),
    // No retries and a fallback that handles nothing, so a failure shows through as it is.
    retryWithBackoff: () => retryWithBackoff({ maxRetries: 0 }),
    withTimeout: () => withTimeout(1_000),
    withFallback: () => withFallback('unused', { handle: () => false }),
    'a wrap of them all': () => wrap(withFallback('unused', { handle: () => false }), retryWithBackoff({ maxRetries: 0 }), withTimeout(1_000)),
  };

  for (const [label, make] of Object.entries(policies)) {
    describe(label, () => {
      it('returns a promise for a plain value', async () => {
        const result = make().execute(() => 42);
        expect(result).toBeInstanceOf(Promise);
        await expect(result).resolves.toBe(42);
      });

      it('returns a rejected promise, never a synchronous throw, when fn throws synchronously', async () => {
        const failure = new Error('sync');
        const policy = make();
        let result: Promise<unknown> | undefined;
        expect(() => {
          result = policy.execute(() => {
            throw failure;
          });
        }).not.toThrow();
        await expect(result).rejects.toBe(failure);
      });

      it('adopts a thenable that is not a native promise', async () => {
        const thenable: PromiseLike<string> = { then: (onFulfilled) => Promise.resolve(onFulfilled?.('from thenable')) as never };
        await expect(make().execute(() => thenable)).resolves.toBe('from thenable');
      });

      it('does not call fn and rejects with signal.reason when the signal is already aborted', async () => {
        const reason = new Error('already');
        const fn = vi.fn();
        await expect(make().execute(fn, AbortSignal.abort(reason))).rejects.toBe(reason);
        expect(fn).not.toHaveBeenCalled();
      });

      it('gives fn attempt 1 and a live signal', async () => {
        const seen = await make().execute((ctx) => ({ attempt: ctx.attempt, aborted: ctx.signal.aborted, isSignal: ctx.signal instanceof AbortSignal }));
        expect(seen).toEqual({ attempt: 1, aborted: false, isSignal: true });
      });
    });
  }
});

describe('wrap', () => {
  it('with no policies runs fn directly, passing the caller signal', async () => {
    const controller = new AbortController();
    const signal = await wrap().execute((ctx) => ctx.signal, controller.signal);
    expect(signal.aborted).toBe(false);
    controller.abort('bye');
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe('bye');
  });

  it('runs the first policy outermost and fn inside the last', async () => {
    const log: string[] = [];
    await wrap(tracer('a', log), tracer('b', log), tracer('c', log)).execute(() => log.push('fn'));
    expect(log).toEqual(['enter a', 'enter b', 'enter c', 'fn', 'exit c', 'exit b', 'exit a']);
  });

  it('flattens nested wraps, keeping their order', async () => {
    const log: string[] = [];
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((n) => tracer(n, log)) as [Policy, Policy, Policy, Policy];
    const inner = wrap(b, c);
    const outer = wrap(a, inner, wrap(d));
    expect(outer.policies).toEqual([a, b, c, d]);
    expect(outer).toBeInstanceOf(PolicyWrap);
    await outer.execute(() => log.push('fn'));
    expect(log).toEqual(['enter a', 'enter b', 'enter c', 'enter d', 'fn', 'exit d', 'exit c', 'exit b', 'exit a']);
  });

  it('a wrap used inside two different wraps works in both', async () => {
    const shared = wrap(retryWithBackoff({ initialDelay: 1, maxRetries: 1 }));
    const one = wrap(withFallback('one'), shared);
    const two = wrap(withFallback('two'), shared);
    const r1 = settle(one.execute(() => Promise.reject(new Error('x'))));
    const r2 = settle(two.execute(() => Promise.reject(new Error('x'))));
    await vi.runAllTimersAsync();
    expect([r1.state(), r2.state()]).toEqual([
      { status: 'fulfilled', value: 'one' },
      { status: 'fulfilled', value: 'two' },
    ]);
  });

  it('order matters: a fallback outside a retry answers after all retries; inside, it answers at once', async () => {
    const outside = vi.fn(() => Promise.reject(new Error('down')));
    const call1 = settle(wrap(withFallback('fb'), retryWithBackoff({ maxRetries: 2, initialDelay: 1 })).execute(outside));
    await vi.runAllTimersAsync();
    expect(call1.state()).toEqual({ status: 'fulfilled', value: 'fb' });
    expect(outside).toHaveBeenCalledTimes(3);

    const inside = vi.fn(() => Promise.reject(new Error('down')));
    const call2 = settle(wrap(retryWithBackoff({ maxRetries: 2, initialDelay: 1 }), withFallback('fb')).execute(inside));
    await vi.runAllTimersAsync();
    expect(call2.state()).toEqual({ status: 'fulfilled', value: 'fb' });
    expect(inside).toHaveBeenCalledTimes(1);
  });

  it('rejects an argument that is not a policy with a TypeError', () => {
    expect(() => wrap({} as never)).toThrow(TypeError);
    expect(() => wrap(null as never)).toThrow(TypeError);
    expect(() => wrap(retryWithBackoff(), 'timeout' as never)).toThrow(TypeError);
  });

  it('still emits every policy’s events when composed', async () => {
    const retry = retryWithBackoff({ maxRetries: 1, initialDelay: 1 });
    const timeout = withTimeout(10);
    const fallback = withFallback('fb');
    const seen: string[] = [];
    retry.on('retry', () => seen.push('retry'));
    retry.on('giveUp', () => seen.push('giveUp'));
    timeout.on('timeout', () => seen.push('timeout'));
    fallback.on('fallback', () => seen.push('fallback'));
    const call = settle(wrap(fallback, retry, timeout).execute(untilAborted));
    await vi.runAllTimersAsync();
    expect(call.state()).toEqual({ status: 'fulfilled', value: 'fb' });
    expect(seen).toEqual(['timeout', 'retry', 'timeout', 'giveUp', 'fallback']);
  });
});

describe('wrap: per-attempt vs overall timeout', () => {
  it('a timeout inside a retry bounds each attempt, each with its own signal and TimeoutError', async () => {
    const retry = retryWithBackoff({ jitter: 'none', initialDelay: 10, maxRetries: 2 });
    const signals: AbortSignal[] = [];
    const attempts: number[] = [];
    const call = settle(
      wrap(retry, withTimeout(100)).execute((ctx) => {
        signals.push(ctx.signal);
        attempts.push(ctx.attempt);
        return untilAborted(ctx);
      }),
    );
    await vi.advanceTimersByTimeAsync(100);
    expect(signals).toHaveLength(1);
    expect(signals[0]!.reason).toBeInstanceOf(TimeoutError);
    await vi.advanceTimersByTimeAsync(10 + 100 + 20 + 99);
    expect(signals).toHaveLength(3);
    expect(call.state().status).toBe('pending');
    await vi.advanceTimersByTimeAsync(1);
    // 100 + 10 + 100 + 20 + 100 ms: three full attempts.
    expect(call.state()).toMatchObject({ status: 'rejected', reason: { name: 'TimeoutError', timeout: 100 } });
    expect(attempts).toEqual([1, 2, 3]);
    expect(new Set(signals.map((s) => s.reason)).size).toBe(3);
  });

  it('a timeout outside a retry bounds all attempts together', async () => {
    const fn = vi.fn(() => Promise.reject(new Error('flaky')));
    const call = settle(wrap(withTimeout(250), retryWithBackoff({ jitter: 'none', initialDelay: 100, maxRetries: 10 })).execute(fn));
    await vi.advanceTimersByTimeAsync(249);
    expect(fn).toHaveBeenCalledTimes(2); // at 0 and 100 ms; the next is due at 300 ms
    expect(call.state().status).toBe('pending');
    await vi.advanceTimersByTimeAsync(1);
    expect(call.state()).toMatchObject({ status: 'rejected', reason: { name: 'TimeoutError', timeout: 250 } });
    // The retry's delay was cancelled by the timeout's abort: no attempt starts later.
    await vi.advanceTimersByTimeAsync(10_000);
    expect(fn).toHaveBeenCalledTimes(2);
  });

  it('an overall timeout that fires during an attempt aborts it, and the retry does not retry that abort', async () => {
    const retry = retryWithBackoff({ handle: () => true, initialDelay: 1 });
    const onRetry = vi.fn();
    retry.on('retry', onRetry);
    const fn = vi.fn(untilAborted);
    const call = settle(wrap(withTimeout(50, { strategy: 'cooperative' }), retry).execute(fn));
    await vi.advanceTimersByTimeAsync(50);
    expect(call.state()).toMatchObject({ status: 'rejected', reason: { name: 'TimeoutError', timeout: 50 } });
    expect(fn).toHaveBeenCalledTimes(1);
    expect(onRetry).not.toHaveBeenCalled();
  });

  it('both: per-attempt and overall timeouts together', async () => {
    const fn = vi.fn(untilAborted);
    const call = settle(
      wrap(withTimeout(1_000), retryWithBackoff({ jitter: 'none', initialDelay: 0, maxRetries: Infinity }), withTimeout(300)).execute(fn),
    );
    await vi.advanceTimersByTimeAsync(1_000);
    expect(call.state()).toMatchObject({ status: 'rejected', reason: { timeout: 1_000 } });
    expect(fn).toHaveBeenCalledTimes(4); // at 0, 300, 600, 900
  });

  it('an outer timeout aborts the signal fn sees through an inner, longer timeout', async () => {
    let signal: AbortSignal | undefined;
    const call = settle(
      wrap(withTimeout(100), withTimeout(1_000)).execute((ctx) => {
        signal = ctx.signal;
        return untilAborted(ctx);
      }),
    );
    await vi.advanceTimersByTimeAsync(100);
    expect(signal?.reason).toMatchObject({ name: 'TimeoutError', timeout: 100 });
    expect(call.state()).toMatchObject({ status: 'rejected', reason: { timeout: 100 } });
  });
});

describe('wrap: signals and contexts', () => {
  it("the caller's signal reaches fn through every policy, with the caller's reason", async () => {
    const controller = new AbortController();
    const fn = vi.fn(untilAborted);
    const call = settle(
      wrap(withFallback('fb'), retryWithBackoff({ handle: () => true }), withTimeout(10_000)).execute(fn, controller.signal),
    );
    await vi.advanceTimersByTimeAsync(5);
    const reason = new Error('user left');
    controller.abort(reason);
    await vi.advanceTimersByTimeAsync(0);
    expect(call.state()).toEqual({ status: 'rejected', reason });
    await vi.runAllTimersAsync();
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('ctx.attempt counts the attempts of the nearest enclosing retry, through inner policies', async () => {
    const attempts: number[] = [];
    const call = settle(
      wrap(retryWithBackoff({ initialDelay: 1 }), withTimeout(1_000), withFallback('x', { handle: () => false })).execute((ctx) => {
        attempts.push(ctx.attempt);
        if (ctx.attempt < 3) throw new Error('again');
        return ctx.attempt;
      }),
    );
    await vi.runAllTimersAsync();
    expect(call.state()).toEqual({ status: 'fulfilled', value: 3 });
    expect(attempts).toEqual([1, 2, 3]);
  });

  it('the nearest retry numbers the attempts when retries nest', async () => {
    const seen: number[] = [];
    let calls = 0;
    const call = settle(
      wrap(retryWithBackoff({ maxRetries: 1, initialDelay: 1 }), retryWithBackoff({ maxRetries: 1, initialDelay: 1 })).execute((ctx) => {
        seen.push(ctx.attempt);
        if (++calls < 4) throw new Error('x');
        return 'ok';
      }),
    );
    await vi.runAllTimersAsync();
    expect(call.state()).toEqual({ status: 'fulfilled', value: 'ok' });
    expect(seen).toEqual([1, 2, 1, 2]);
  });

  it('leaves no abort listener on a long-lived caller signal after calls through a full pipeline', async () => {
    const controller = new AbortController();
    const pipeline = wrap(
      withFallback('fb'),
      withTimeout(500),
      retryWithBackoff({ maxRetries: 2, initialDelay: 10 }),
      withTimeout(100),
    );
    for (let i = 0; i < 10; i++) {
      const ok = settle(pipeline.execute(({ signal, attempt }) => (signal.aborted ? 'aborted' : attempt), controller.signal));
      const flaky = settle(
        pipeline.execute((ctx) => (ctx.attempt < 2 ? untilAborted(ctx) : 'second'), controller.signal),
      );
      const failing = settle(pipeline.execute(untilAborted, controller.signal));
      await vi.runAllTimersAsync();
      expect([ok.state(), flaky.state(), failing.state()]).toEqual([
        { status: 'fulfilled', value: 1 },
        { status: 'fulfilled', value: 'second' },
        { status: 'fulfilled', value: 'fb' },
      ]);
    }
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });
});

describe("wrap: a user's own Policy object", () => {
  it('composes like the built-in policies, outer aborts reaching fn through it', async () => {
    const log: string[] = [];
    let signal: AbortSignal | undefined;
    const call = settle(
      wrap(withTimeout(100), tracer('mine', log), retryWithBackoff({ maxRetries: 0 })).execute((ctx) => {
        signal = ctx.signal;
        return untilAborted(ctx);
      }),
    );
    await vi.advanceTimersByTimeAsync(100);
    expect(signal?.reason).toMatchObject({ name: 'TimeoutError', timeout: 100 });
    expect(call.state()).toMatchObject({ status: 'rejected', reason: { name: 'TimeoutError' } });
    expect(log).toEqual(['enter mine', 'exit mine']);
  });

  it('runs once per attempt when placed inside a retry', async () => {
    const log: string[] = [];
    let calls = 0;
    const call = settle(
      wrap(retryWithBackoff({ initialDelay: 1 }), tracer('mine', log)).execute(() => {
        if (++calls < 3) throw new Error('again');
        return 'ok';
      }),
    );
    await vi.runAllTimersAsync();
    expect(call.state()).toEqual({ status: 'fulfilled', value: 'ok' });
    expect(log.filter((l) => l === 'enter mine')).toHaveLength(3);
  });

  it('can hand fn its own signal; the policies inside treat its abort as an enclosing abort', async () => {
    const reason = new Error('my policy gave up');
    const mine: Policy = {
      execute(fn) {
        const controller = new AbortController();
        setTimeout(() => controller.abort(reason), 30);
        return Promise.resolve(fn({ signal: controller.signal, attempt: 1 }));
      },
    };
    const fn = vi.fn(untilAborted);
    const onRetry = vi.fn();
    const retry = retryWithBackoff({ handle: () => true, initialDelay: 1 });
    retry.on('retry', onRetry);
    const call = settle(wrap(mine, retry).execute(fn));
    await vi.runAllTimersAsync();
    expect(call.state()).toEqual({ status: 'rejected', reason });
    expect(fn).toHaveBeenCalledTimes(1);
    expect(onRetry).not.toHaveBeenCalled();
  });

  it('may call fn with no context at all', async () => {
    const bare = { execute: <T>(fn: (ctx: PolicyContext) => T | PromiseLike<T>) => Promise.resolve((fn as (c?: unknown) => T)()) } as Policy;
    const seen = await wrap(bare, withTimeout(100)).execute((ctx) => ({ attempt: ctx.attempt, aborted: ctx.signal.aborted }));
    expect(seen).toEqual({ attempt: 1, aborted: false });
  });

  it('leaves no abort listener on a long-lived caller signal when a user policy sits in the pipeline', async () => {
    const controller = new AbortController();
    const log: string[] = [];
    const pipeline = wrap(tracer('outer', log), withTimeout(100), tracer('inner', log), retryWithBackoff({ maxRetries: 1, initialDelay: 5 }), withTimeout(20));
    for (let i = 0; i < 5; i++) {
      const ok = settle(pipeline.execute(({ signal }) => (signal.aborted ? -1 : i), controller.signal));
      const failing = settle(pipeline.execute(untilAborted, controller.signal));
      await vi.runAllTimersAsync();
      expect(ok.state()).toEqual({ status: 'fulfilled', value: i });
      expect(failing.state()).toMatchObject({ status: 'rejected', reason: { name: 'TimeoutError', timeout: 20 } });
    }
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('a user policy that throws synchronously makes execute reject, not throw', async () => {
    const failure = new Error('policy bug');
    const broken: Policy = {
      execute() {
        throw failure;
      },
    };
    await expect(wrap(withTimeout(100), broken).execute(() => 1)).rejects.toBe(failure);
  });

  it('a wrap is itself a Policy that a user policy can sit around', async () => {
    const log: string[] = [];
    const inner = wrap(withFallback('fb'), withTimeout(10));
    const outer = wrap(tracer('outer', log), inner);
    const call = settle(outer.execute(untilAborted));
    await vi.advanceTimersByTimeAsync(10);
    expect(call.state()).toEqual({ status: 'fulfilled', value: 'fb' });
    expect(log).toEqual(['enter outer', 'exit outer']);
  });
});
