// Contract: "The Policy interface", "wrap(...policies)", "Events" — exercised against dist/.
import { getEventListeners } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Policy } from '../../src/index.js';
import { settle, untilAborted } from '../helpers/settle.js';
import { lib } from './dist.js';

const { wrap, retryWithBackoff, withTimeout, withFallback, TimeoutError } = lib;

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  expect(vi.getTimerCount()).toBe(0);
  vi.useRealTimers();
});


describe('The Policy interface', () => {
  const all = (): Policy<unknown>[] => [wrap(), retryWithBackoff({ maxRetries: 0 }), withTimeout(1_000), withFallback(0, { handle: () => false })];

  it('execute always returns a promise, also when fn throws synchronously or returns a plain value', async () => {
    for (const policy of all()) {
      const value = policy.execute(() => 'plain');
      expect(value).toBeInstanceOf(Promise);
      await expect(value).resolves.toBe('plain');
      const failure = new Error('sync');
      const thrown = policy.execute(() => {
        throw failure;
      });
      expect(thrown).toBeInstanceOf(Promise);
      await expect(thrown).rejects.toBe(failure);
    }
  });

  it('if signal is already aborted, fn is not called and the promise rejects with signal.reason', async () => {
    for (const policy of [...all(), wrap(withFallback(0), retryWithBackoff(), withTimeout(5))]) {
      const reason = new Error('aborted before');
      const fn = vi.fn();
      await expect(policy.execute(fn, AbortSignal.abort(reason))).rejects.toBe(reason);
      expect(fn).not.toHaveBeenCalled();
    }
  });

  it('if the signal aborts later, a retry stops waiting at once, rejects with signal.reason, and starts no further attempt', async () => {
    const controller = new AbortController();
    const fn = vi.fn(() => Promise.reject(new Error('flaky')));
    const call = settle(retryWithBackoff({ initialDelay: 60_000, jitter: 'none' }).execute(fn, controller.signal));
    await vi.advanceTimersByTimeAsync(10);
    const reason = new Error('later');
    controller.abort(reason);
    await vi.advanceTimersByTimeAsync(0);
    expect(call.state()).toEqual({ status: 'rejected', reason });
    await vi.advanceTimersByTimeAsync(120_000);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('ctx.attempt is 1 without a retry, and counts attempts of the nearest enclosing retry', async () => {
    expect(await withTimeout(10).execute((ctx) => ctx.attempt)).toBe(1);
    const attempts: number[] = [];
    const call = settle(
      retryWithBackoff({ initialDelay: 1 }).execute((ctx) => {
        attempts.push(ctx.attempt);
        if (ctx.attempt < 3) throw new Error('again');
        return 'done';
      }),
    );
    await vi.runAllTimersAsync();
    expect(call.state()).toEqual({ status: 'fulfilled', value: 'done' });
    expect(attempts).toEqual([1, 2, 3]);
  });

  it("a user's own object with an execute method is a Policy and composes in wrap", async () => {
    const log: string[] = [];
    const mine: Policy = {
      async execute(fn, signal) {
        log.push('before');
        try {
          return await fn({ signal: signal ?? new AbortController().signal, attempt: 1 });
        } finally {
          log.push('after');
        }
      },
    };
    let signal: AbortSignal | undefined;
    const call = settle(
      wrap(withTimeout(50), mine).execute((ctx) => {
        signal = ctx.signal;
        return untilAborted(ctx);
      }),
    );
    await vi.advanceTimersByTimeAsync(50);
    expect(call.state()).toMatchObject({ status: 'rejected', reason: { name: 'TimeoutError' } });
    expect(signal?.reason).toBeInstanceOf(TimeoutError);
    expect(log).toEqual(['before', 'after']);
  });
});

describe('wrap(...policies)', () => {
  it('wrap(a, b, c): a outermost, c innermost, fn inside c', async () => {
    const log: string[] = [];
    const named = (name: string): Policy => ({
      async execute(fn, signal) {
        log.push(`>${name}`);
        const value = await fn({ signal: signal ?? new AbortController().signal, attempt: 1 });
        log.push(`<${name}`);
        return value;
      },
    });
    await wrap(named('a'), named('b'), named('c')).execute(() => log.push('fn'));
    expect(log).toEqual(['>a', '>b', '>c', 'fn', '<c', '<b', '<a']);
  });

  it('wrap() with no policies runs fn directly', async () => {
    const controller = new AbortController();
    const signal = await wrap().execute((ctx) => ctx.signal, controller.signal);
    controller.abort('bye');
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe('bye');
    await expect(wrap().execute(() => 5)).resolves.toBe(5);
  });

  it('a timeout outside a retry bounds all attempts together', async () => {
    const fn = vi.fn(() => Promise.reject(new Error('flaky')));
    const call = settle(wrap(withTimeout(1_000), retryWithBackoff({ maxRetries: Infinity, jitter: 'none', initialDelay: 100, multiplier: 1 })).execute(fn));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(call.state()).toMatchObject({ status: 'rejected', reason: { name: 'TimeoutError', timeout: 1_000 } });
    const calls = fn.mock.calls.length;
    expect(calls).toBe(10); // at 0, 100, …, 900 ms
    await vi.advanceTimersByTimeAsync(5_000);
    expect(fn).toHaveBeenCalledTimes(calls);
  });

  it('a timeout inside a retry bounds each attempt', async () => {
    const fn = vi.fn(untilAborted);
    const call = settle(wrap(retryWithBackoff({ maxRetries: 2, jitter: 'none', initialDelay: 10 }), withTimeout(100)).execute(fn));
    await vi.advanceTimersByTimeAsync(100 + 10 + 100 + 20 + 100);
    expect(fn).toHaveBeenCalledTimes(3);
    expect(call.state()).toMatchObject({ status: 'rejected', reason: { name: 'TimeoutError', timeout: 100 } });
  });

  it("each policy hands the next a signal carrying the caller's signal and every enclosing policy's abort", async () => {
    const controller = new AbortController();
    let seen: AbortSignal | undefined;
    const call = settle(
      wrap(withTimeout(10_000), retryWithBackoff(), withTimeout(20_000)).execute((ctx) => {
        seen = ctx.signal;
        return untilAborted(ctx);
      }, controller.signal),
    );
    await vi.advanceTimersByTimeAsync(1);
    controller.abort('caller reason');
    await vi.advanceTimersByTimeAsync(0);
    expect(seen?.reason).toBe('caller reason');
    expect(call.state()).toEqual({ status: 'rejected', reason: 'caller reason' });
  });

  it('wraps nest', async () => {
    const inner = wrap(retryWithBackoff({ maxRetries: 1, initialDelay: 1 }));
    const fn = vi.fn(() => Promise.reject(new Error('x')));
    const call = settle(wrap(withFallback('fb'), inner).execute(fn));
    await vi.runAllTimersAsync();
    expect(call.state()).toEqual({ status: 'fulfilled', value: 'fb' });
    expect(fn).toHaveBeenCalledTimes(2);
  });

  it('leaves no abort listener on a long-lived caller signal', async () => {
    const controller = new AbortController();
    const pipeline = wrap(withFallback('fb'), retryWithBackoff({ maxRetries: 1, initialDelay: 5 }), withTimeout(50));
    for (let i = 0; i < 5; i++) {
      const fast = settle(pipeline.execute(({ signal }) => (signal.aborted ? -1 : i), controller.signal));
      const slow = settle(pipeline.execute(untilAborted, controller.signal));
      await vi.runAllTimersAsync();
      expect([fast.state(), slow.state()]).toEqual([
        { status: 'fulfilled', value: i },
        { status: 'fulfilled', value: 'fb' },
      ]);
    }
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });
});

describe('Events', () => {
  it('on(event, listener) returns a function that unsubscribes', async () => {
    const timeout = withTimeout(10);
    const listener = vi.fn();
    const off = timeout.on('timeout', listener);
    settle(timeout.execute(untilAborted));
    await vi.advanceTimersByTimeAsync(10);
    expect(listener).toHaveBeenCalledWith({ timeout: 10 });
    off();
    settle(timeout.execute(untilAborted));
    await vi.advanceTimersByTimeAsync(10);
    expect(listener).toHaveBeenCalledTimes(1);
  });

  it('a listener that throws never changes the outcome of a call', async () => {
    const boom = (): never => {
      throw new Error('listener');
    };
    const retry = retryWithBackoff({ initialDelay: 1 });
    const fallback = withFallback('fb');
    const timeout = withTimeout(10);
    retry.on('retry', boom);
    retry.on('success', boom);
    retry.on('giveUp', boom);
    fallback.on('fallback', boom);
    timeout.on('timeout', boom);
    let n = 0;
    const ok = settle(retry.execute(() => (++n < 2 ? Promise.reject(new Error('once')) : 'ok')));
    const fb = settle(wrap(fallback, timeout).execute(untilAborted));
    await vi.runAllTimersAsync();
    expect(ok.state()).toEqual({ status: 'fulfilled', value: 'ok' });
    expect(fb.state()).toEqual({ status: 'fulfilled', value: 'fb' });
  });
});
