// Failure mode: an aggressive timeout stops waiting for an `fn` that ignores
// `ctx.signal` at its deadline, but not when the caller aborts: the caller's
// abort is left waiting for the deadline (an hour, say). Aggressive means
// breakwater stops waiting for `fn` whenever its call is given up on.
import { getEventListeners } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CircuitBreaker, hedge, retryWithBackoff, withFallback, withTimeout, wrap, type Policy, type PolicyContext } from '../../src/index.js';
import { settle } from '../helpers/settle.js';

/** An fn that ignores its signal and never answers. */
const deaf = () => new Promise<never>(() => {});

beforeEach(() => void vi.useFakeTimers());
afterEach(() => {
  expect(vi.getTimerCount()).toBe(0);
  vi.useRealTimers();
});

describe('an aggressive timeout around an fn that ignores its signal', () => {
  it("rejects with the caller's reason as soon as the caller aborts", async () => {
    const caller = new AbortController();
    const reason = new Error('user navigated away');
    const call = settle(withTimeout(3_600_000).execute(deaf, caller.signal));
    await vi.advanceTimersByTimeAsync(10);
    caller.abort(reason);
    await vi.advanceTimersByTimeAsync(0);
    expect(call.state()).toEqual({ status: 'rejected', reason });
  });

  it('rejects at once when fn itself aborts the caller synchronously', async () => {
    const caller = new AbortController();
    const call = settle(
      withTimeout(1_000).execute(() => {
        caller.abort('fn gave up');
        return deaf();
      }, caller.signal),
    );
    await vi.advanceTimersByTimeAsync(0);
    expect(call.state()).toEqual({ status: 'rejected', reason: 'fn gave up' });
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
  });

  it('aborts ctx.signal with that reason, and leaves no listener on the caller signal', async () => {
    const caller = new AbortController();
    let signal: AbortSignal | undefined;
    const call = settle(
      withTimeout(1_000).execute((ctx: PolicyContext) => {
        signal = ctx.signal;
        return deaf();
      }, caller.signal),
    );
    caller.abort('stop');
    await vi.advanceTimersByTimeAsync(0);
    expect(call.state()).toEqual({ status: 'rejected', reason: 'stop' });
    expect(signal?.reason).toBe('stop');
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
  });

  it('ends at an enclosing timeout, too', async () => {
    const call = settle(wrap(withTimeout(50), withTimeout(1_000)).execute(deaf));
    await vi.advanceTimersByTimeAsync(50);
    expect(call.state()).toMatchObject({ status: 'rejected', reason: { name: 'TimeoutError', timeout: 50 } });
    // The inner timeout stopped waiting too: its timer is gone, not left to its deadline.
    expect(vi.getTimerCount()).toBe(0);
  });

  it('ends at an enclosing cooperative timeout, which then answers with its TimeoutError', async () => {
    const call = settle(wrap(withTimeout(50, { strategy: 'cooperative' }), withTimeout(1_000)).execute(deaf));
    await vi.advanceTimersByTimeAsync(50);
    expect(call.state()).toMatchObject({ status: 'rejected', reason: { name: 'TimeoutError', timeout: 50 } });
  });

  it('stops waiting for a hedged attempt that lost', async () => {
    let calls = 0;
    const fn = () => (++calls === 1 ? deaf() : new Promise((resolve) => setTimeout(resolve, 5, 'second')));
    const call = settle(wrap(hedge({ delay: 10 }), withTimeout(1_000)).execute(fn));
    await vi.advanceTimersByTimeAsync(15);
    expect(call.state()).toEqual({ status: 'fulfilled', value: 'second' });
    // The losing attempt's timeout stopped waiting: no timer is left to its deadline.
    expect(vi.getTimerCount()).toBe(0);
  });

  it("is not counted by a breaker outside it, nor replaced by a fallback: it is the caller's abort", async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1 });
    const caller = new AbortController();
    const call = settle(wrap(withFallback('fb'), breaker, withTimeout(1_000)).execute(deaf, caller.signal));
    caller.abort('stop');
    await vi.advanceTimersByTimeAsync(0);
    expect(call.state()).toEqual({ status: 'rejected', reason: 'stop' });
    expect(breaker.state).toBe('closed');
  });

  it('rejects at once, without calling fn, when its call was given up on before it started', async () => {
    const fn = vi.fn(deaf);
    // A user's own policy that hands fn a signal already aborted.
    const gone: Policy = { execute: (f) => Promise.resolve(f({ signal: AbortSignal.abort('gone'), attempt: 1 })) };
    const call = settle(wrap(gone, withTimeout(1_000)).execute(fn));
    await vi.advanceTimersByTimeAsync(0);
    expect(call.state()).toEqual({ status: 'rejected', reason: 'gone' });
    expect(fn).not.toHaveBeenCalled();
  });

  it('a retry around it stops at the caller abort and starts no further attempt', async () => {
    const fn = vi.fn(deaf);
    const caller = new AbortController();
    const call = settle(wrap(retryWithBackoff({ handle: () => true, initialDelay: 1 }), withTimeout(1_000)).execute(fn, caller.signal));
    await vi.advanceTimersByTimeAsync(5);
    caller.abort('stop');
    await vi.runAllTimersAsync();
    expect(call.state()).toEqual({ status: 'rejected', reason: 'stop' });
    expect(fn).toHaveBeenCalledTimes(1);
  });
});

describe('a cooperative timeout stays cooperative', () => {
  it("waits for fn to settle after the caller's abort", async () => {
    const caller = new AbortController();
    const call = settle(withTimeout(100, { strategy: 'cooperative' }).execute(() => new Promise((resolve) => setTimeout(resolve, 60, 'late')), caller.signal));
    caller.abort('stop');
    await vi.advanceTimersByTimeAsync(59);
    expect(call.state()).toEqual({ status: 'pending' });
    await vi.advanceTimersByTimeAsync(1);
    expect(call.state()).toEqual({ status: 'fulfilled', value: 'late' });
  });
});
