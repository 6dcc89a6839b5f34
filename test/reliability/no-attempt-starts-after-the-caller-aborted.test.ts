// Failure mode: the caller aborts at an instant a policy does not look (inside
// one of its own event listeners, or between a retry delay's timer and the
// next attempt) and the policy starts an attempt anyway: `fn` runs with an
// aborted signal, and a request goes out for a caller who is gone.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Bulkhead, chaos, CircuitBreaker, hedge, retryWithBackoff, withFallback, wrap, type Policy, type PolicyContext } from '../../src/index.js';
import { settle } from '../helpers/settle.js';

beforeEach(() => void vi.useFakeTimers());
afterEach(() => {
  expect(vi.getTimerCount()).toBe(0);
  vi.useRealTimers();
});

/** An fn that records the signal of every attempt and fails each after `ms`, or at once. */
function recorder(ms = 0) {
  const signals: boolean[] = [];
  const fn = (ctx: PolicyContext): Promise<never> => {
    signals.push(ctx.signal.aborted);
    return ms === 0
      ? Promise.reject(new Error('failed'))
      : new Promise((_, reject) => {
          const timer = setTimeout(() => reject(new Error('slow failure')), ms);
          ctx.signal.addEventListener('abort', () => (clearTimeout(timer), reject(ctx.signal.reason)), { once: true });
        });
  };
  return { fn, signals };
}

describe('no attempt starts once the caller has aborted', () => {
  it("when a hedge listener aborts the caller as the hedge is due (after a delay)", async () => {
    const caller = new AbortController();
    const policy = hedge({ delay: 10, maxHedges: 2 });
    policy.on('hedge', () => caller.abort('gone'));
    const { fn, signals } = recorder(1_000);
    const call = settle(policy.execute(fn, caller.signal));
    await vi.advanceTimersByTimeAsync(10);
    expect(call.state()).toEqual({ status: 'rejected', reason: 'gone' });
    expect(signals).toEqual([false]);
  });

  it('when a hedge listener aborts the caller as a failure starts the next hedge at once', async () => {
    const caller = new AbortController();
    const policy = hedge({ delay: 1_000 });
    policy.on('hedge', () => caller.abort('gone'));
    const { fn, signals } = recorder();
    const call = settle(policy.execute(fn, caller.signal));
    await vi.advanceTimersByTimeAsync(0);
    expect(call.state()).toEqual({ status: 'rejected', reason: 'gone' });
    expect(signals).toEqual([false]);
  });

  it('when the abort lands between the end of a retry delay and the next attempt', async () => {
    const caller = new AbortController();
    const { fn, signals } = recorder();
    const call = settle(retryWithBackoff({ initialDelay: 100, jitter: 'none' }).execute(fn, caller.signal));
    await vi.advanceTimersByTimeAsync(0); // the first attempt failed; the delay runs
    // Due at the same instant as the delay's timer, after it: timers run back to back, with no microtask between.
    setTimeout(() => caller.abort('gone'), 100);
    vi.advanceTimersByTime(100);
    await vi.advanceTimersByTimeAsync(0);
    expect(call.state()).toEqual({ status: 'rejected', reason: 'gone' });
    expect(signals).toEqual([false]);
  });

  it('when a retry listener aborts the caller', async () => {
    const caller = new AbortController();
    const retry = retryWithBackoff({ initialDelay: 0 });
    retry.on('retry', () => caller.abort('gone'));
    const { fn, signals } = recorder();
    const call = settle(wrap(retry, hedge({ delay: 10 })).execute(fn, caller.signal));
    await vi.runAllTimersAsync();
    expect(call.state()).toEqual({ status: 'rejected', reason: 'gone' });
    expect(signals).toEqual([false, false]); // the first attempt and the hedge its failure started
  });

  it('when the abort lands between the end of a chaos latency and the stage inside it', async () => {
    for (const inner of [undefined, () => retryWithBackoff(), () => new CircuitBreaker(), () => new Bulkhead({ maxConcurrent: 1 })]) {
      const caller = new AbortController();
      const { fn, signals } = recorder();
      const latency = chaos({ latency: 100 });
      const call = settle((inner === undefined ? latency : wrap(latency, inner())).execute(fn, caller.signal));
      setTimeout(() => caller.abort('gone'), 100); // due with chaos's own timer, after it
      vi.advanceTimersByTime(100);
      await vi.advanceTimersByTimeAsync(0);
      expect(call.state()).toEqual({ status: 'rejected', reason: 'gone' });
      expect(signals).toEqual([]);
    }
  });

  it("when a user's own policy calls fn after the caller aborted (it ignored its signal)", async () => {
    const late: Policy = {
      execute: (fn) => new Promise((resolve) => setTimeout(resolve, 100)).then(() => fn({ signal: new AbortController().signal, attempt: 1 })),
    };
    for (const inner of [() => retryWithBackoff(), () => new CircuitBreaker(), () => new Bulkhead({ maxConcurrent: 1 }), () => withFallback('fallback')]) {
      const caller = new AbortController();
      const { fn, signals } = recorder();
      const call = settle(wrap(late, inner()).execute(fn, caller.signal));
      caller.abort('gone');
      await vi.advanceTimersByTimeAsync(100);
      expect(call.state()).toEqual({ status: 'rejected', reason: 'gone' });
      expect(signals).toEqual([]);
    }
  });

  it('when a fallback listener aborts the caller: the caller gets its abort, not the fallback', async () => {
    const caller = new AbortController();
    let ran = 0;
    const fallback = withFallback(() => (ran++, 'fallback'));
    fallback.on('fallback', () => caller.abort('gone'));
    const call = settle(fallback.execute(() => Promise.reject(new Error('failed')), caller.signal));
    await vi.advanceTimersByTimeAsync(0);
    expect(call.state()).toEqual({ status: 'rejected', reason: 'gone' });
    expect(ran).toBe(0);
  });

  it("when retry's handle aborts the caller: no retry event for an attempt that never comes", async () => {
    const caller = new AbortController();
    let handled = 0;
    // Aborts as it judges the second attempt's failure.
    const retry = retryWithBackoff({ initialDelay: 10, jitter: 'none', handle: () => (++handled === 2 && caller.abort('gone'), true) });
    const events: string[] = [];
    retry.on('retry', ({ attempt }) => events.push(`retry ${attempt}`));
    retry.on('giveUp', () => events.push('giveUp'));
    const { fn, signals } = recorder();
    const call = settle(retry.execute(fn, caller.signal));
    await vi.runAllTimersAsync();
    expect(call.state()).toEqual({ status: 'rejected', reason: 'gone' });
    expect(signals).toEqual([false, false]);
    expect(events).toEqual(['retry 1']);
  });
});
