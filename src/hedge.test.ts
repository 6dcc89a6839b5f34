import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { hedge } from './hedge.js';
import type { PolicyContext } from './policy.js';
import { wrap } from './policy.js';
import { RetryBudget } from './retry-budget.js';
import { retryWithBackoff } from './retry.js';
import { withTimeout } from './timeout.js';
import { CircuitBreaker } from './circuit-breaker.js';
import { TimeoutError } from './errors.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  expect(vi.getTimerCount()).toBe(0); // nothing left behind
  vi.useRealTimers();
});

/** A scripted backend: attempt n answers `value` (or throws `error`) after `after[n-1]` ms, honouring its signal. */
function backend(script: ReadonlyArray<{ after: number; value?: unknown; error?: unknown }>) {
  const seen: { attempt: number; signal: AbortSignal; abortedWith?: unknown }[] = [];
  const fn = (ctx: PolicyContext) => {
    const step = script[seen.length]!;
    const record: (typeof seen)[number] = { attempt: seen.length + 1, signal: ctx.signal };
    seen.push(record);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => ('error' in step ? reject(step.error) : resolve(step.value)), step.after);
      ctx.signal.addEventListener('abort', () => {
        record.abortedWith = ctx.signal.reason;
        clearTimeout(timer);
        reject(ctx.signal.reason);
      });
    });
  };
  return { fn, seen };
}

describe('hedge', () => {
  it('answers from the first attempt and starts no hedge when it is fast enough', async () => {
    const policy = hedge({ delay: 100 });
    const events: unknown[] = [];
    policy.on('hedge', (e) => events.push(e));
    const { fn, seen } = backend([{ after: 50, value: 'a' }]);
    const result = policy.execute(fn);
    await vi.advanceTimersByTimeAsync(50);
    await expect(result).resolves.toBe('a');
    expect(seen).toHaveLength(1);
    expect(events).toEqual([]);
  });

  it('starts a hedge after delay, takes the faster answer and aborts the loser', async () => {
    const policy = hedge({ delay: 100 });
    const events: unknown[] = [];
    policy.on('hedge', (e) => events.push(e));
    const { fn, seen } = backend([
      { after: 1_000, value: 'slow' },
      { after: 20, value: 'fast' },
    ]);
    const result = policy.execute(fn);
    await vi.advanceTimersByTimeAsync(120);
    await expect(result).resolves.toBe('fast');
    expect(events).toEqual([{ attempt: 2, delay: 100 }]);
    expect(seen.map((s) => s.attempt)).toEqual([1, 2]);
    expect(seen[0]!.abortedWith).toMatchObject({ name: 'AbortError' });
    expect(seen[1]!.signal.aborted).toBe(false); // the winner's signal is left alone (a body may stream)
  });

  it('caps attempts at maxHedges + 1 and takes whichever answers first', async () => {
    const policy = hedge({ delay: 10, maxHedges: 3 });
    const { fn, seen } = backend([
      { after: 1_000, value: 1 },
      { after: 1_000, value: 2 },
      { after: 15, value: 3 },
      { after: 1_000, value: 4 },
    ]);
    const result = policy.execute(fn);
    await vi.advanceTimersByTimeAsync(30);
    expect(seen).toHaveLength(4); // t = 0, 10, 20, 30
    await vi.advanceTimersByTimeAsync(5);
    await expect(result).resolves.toBe(3);
    expect(seen.filter((s) => s.abortedWith !== undefined).map((s) => s.attempt)).toEqual([1, 2, 4]);
  });

  it('runs every attempt at once with delay 0', async () => {
    const policy = hedge({ delay: 0, maxHedges: 2 });
    const events: unknown[] = [];
    policy.on('hedge', (e) => events.push(e));
    const { fn, seen } = backend([
      { after: 30, value: 'a' },
      { after: 10, value: 'b' },
      { after: 20, value: 'c' },
    ]);
    const result = policy.execute(fn);
    expect(seen).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(10);
    await expect(result).resolves.toBe('b');
    expect(events).toEqual([
      { attempt: 2, delay: 0 },
      { attempt: 3, delay: 0 },
    ]);
  });

  it('starts the next hedge at once when an attempt fails before the delay', async () => {
    const policy = hedge({ delay: 1_000 });
    const events: unknown[] = [];
    policy.on('hedge', (e) => events.push(e));
    const { fn } = backend([
      { after: 10, error: new Error('boom') },
      { after: 10, value: 'ok' },
    ]);
    const result = policy.execute(fn);
    await vi.advanceTimersByTimeAsync(20);
    await expect(result).resolves.toBe('ok');
    expect(events).toEqual([{ attempt: 2, delay: 0 }]);
  });

  it('rethrows the failure that came last when every attempt fails', async () => {
    const policy = hedge({ delay: 10, maxHedges: 2 });
    const { fn } = backend([
      { after: 100, error: new Error('first') },
      { after: 50, error: new Error('second') },
      { after: 200, error: new Error('third') },
    ]);
    const result = policy.execute(fn);
    const settled = expect(result).rejects.toThrow('third');
    await vi.advanceTimersByTimeAsync(300);
    await settled;
  });

  it('treats handled results as failures and returns the last one when all fail', async () => {
    const policy = hedge({ delay: 10, handleResult: (v) => v === 503 });
    const { fn } = backend([
      { after: 100, value: 503 },
      { after: 100, value: 503 },
    ]);
    const result = policy.execute(fn);
    await vi.advanceTimersByTimeAsync(110);
    await expect(result).resolves.toBe(503);
  });

  it('lets an error that handle rejects win the race and pass straight through', async () => {
    const policy = hedge({ delay: 10, handle: (e) => (e as Error).message !== 'fatal' });
    const { fn, seen } = backend([
      { after: 1_000, value: 'late' },
      { after: 5, error: new Error('fatal') },
    ]);
    const result = policy.execute(fn);
    const settled = expect(result).rejects.toThrow('fatal');
    await vi.advanceTimersByTimeAsync(15);
    await settled;
    expect(seen[0]!.abortedWith).toBeDefined();
  });

  it('emits win { attempt } for the attempt whose answer won: 1 without a hedge, the hedge that was faster', async () => {
    const policy = hedge({ delay: 100, maxHedges: 2 });
    const wins: unknown[] = [];
    policy.on('win', (e) => wins.push(e));
    const fast = backend([{ after: 50, value: 'a' }]);
    const first = policy.execute(fast.fn);
    await vi.advanceTimersByTimeAsync(50);
    await expect(first).resolves.toBe('a');
    expect(wins).toEqual([{ attempt: 1 }]);

    const slow = backend([
      { after: 1_000, value: 'slow' },
      { after: 1_000, value: 'slower' },
      { after: 10, value: 'third' },
    ]);
    const hedged = policy.execute(slow.fn);
    await vi.advanceTimersByTimeAsync(210);
    await expect(hedged).resolves.toBe('third');
    expect(wins).toEqual([{ attempt: 1 }, { attempt: 3 }]);
  });

  it('emits win after the losers are aborted, also for an error handle lets through; none when every attempt fails', async () => {
    const policy = hedge({ delay: 10, handle: (e) => (e as Error).message !== 'fatal' });
    const wins: unknown[] = [];
    const { fn, seen } = backend([
      { after: 1_000, value: 'late' },
      { after: 5, error: new Error('fatal') },
    ]);
    policy.on('win', (e) => wins.push([e, seen[0]!.abortedWith !== undefined]));
    const result = policy.execute(fn);
    const settled = expect(result).rejects.toThrow('fatal');
    await vi.advanceTimersByTimeAsync(15);
    await settled;
    expect(wins).toEqual([[{ attempt: 2 }, true]]);

    const failing = backend([
      { after: 20, error: new Error('first') },
      { after: 20, error: new Error('second') },
    ]);
    const lost = policy.execute(failing.fn);
    const rejected = expect(lost).rejects.toThrow('second');
    await vi.advanceTimersByTimeAsync(100);
    await rejected;
    expect(wins).toHaveLength(1);
  });

  it('hedges only on failure with delay Infinity', async () => {
    const policy = hedge({ delay: Infinity, maxHedges: 2 });
    const { fn, seen } = backend([
      { after: 500, error: new Error('a') },
      { after: 500, value: 'b' },
    ]);
    const result = policy.execute(fn);
    await vi.advanceTimersByTimeAsync(499);
    expect(seen).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(501);
    await expect(result).resolves.toBe('b');
  });

  it('calls a delay function with the number of the attempt last started', async () => {
    const delay = vi.fn((attempt: number) => attempt * 100);
    const policy = hedge({ delay, maxHedges: 2 });
    const events: unknown[] = [];
    policy.on('hedge', (e) => events.push(e));
    const { fn } = backend([
      { after: 1_000, value: 1 },
      { after: 1_000, value: 2 },
      { after: 1_000, value: 3 },
    ]);
    const result = policy.execute(fn);
    await vi.advanceTimersByTimeAsync(1_000);
    await expect(result).resolves.toBe(1);
    expect(delay.mock.calls).toEqual([[1], [2]]);
    expect(events).toEqual([
      { attempt: 2, delay: 100 },
      { attempt: 3, delay: 200 },
    ]);
  });

  it('rejects with the caller’s reason at once on abort and starts no more hedges', async () => {
    const policy = hedge({ delay: 100, maxHedges: 3 });
    let calls = 0;
    const controller = new AbortController();
    // A backend that ignores its signal: the hedge must not wait for it.
    const result = policy.execute(() => {
      calls++;
      return new Promise(() => {});
    }, controller.signal);
    await vi.advanceTimersByTimeAsync(150);
    controller.abort(new Error('user left'));
    await expect(result).rejects.toThrow('user left');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(calls).toBe(2);
  });

  it('never calls fn when the signal is already aborted', async () => {
    const fn = vi.fn();
    await expect(hedge({ delay: 10 }).execute(fn, AbortSignal.abort('gone'))).rejects.toBe('gone');
    expect(fn).not.toHaveBeenCalled();
  });

  it('drops late outcomes of losers: no unhandled rejection, no second answer', async () => {
    // (vitest fails the run on any unhandled rejection)
    const policy = hedge({ delay: 10 });
    // The loser ignores its signal and fails later.
    let attempt = 0;
    const result = policy.execute(() => {
      attempt++;
      return attempt === 1
        ? new Promise((_, reject) => setTimeout(() => reject(new Error('late')), 100))
        : Promise.resolve('winner');
    });
    await vi.advanceTimersByTimeAsync(10);
    await expect(result).resolves.toBe('winner');
    await vi.advanceTimersByTimeAsync(100);
    expect(attempt).toBe(2);
  });

  it('asks a shared budget before every hedge, and counts the call as a first attempt', async () => {
    const budget = new RetryBudget({ ratio: 0, minRetriesPerSecond: 0.1, window: 10_000 }); // one retry allowed
    const policy = hedge({ delay: 10, maxHedges: 3, budget });
    const { fn, seen } = backend([
      { after: 100, value: 1 },
      { after: 100, value: 2 },
      { after: 100, value: 3 },
    ]);
    const result = policy.execute(fn);
    await vi.advanceTimersByTimeAsync(100);
    await expect(result).resolves.toBe(1);
    expect(seen).toHaveLength(2);
    expect(budget.stats()).toMatchObject({ firstAttempts: 1, retries: 1, refused: 1 });
  });

  it('inside a retry sharing its budget, counts no first attempt of its own: the retry counted the call', async () => {
    const budget = new RetryBudget({ ratio: 1, minRetriesPerSecond: 0 });
    const policy = wrap(retryWithBackoff({ maxRetries: 1, initialDelay: 1, jitter: 'none', budget }), hedge({ delay: Infinity, maxHedges: 0, budget }));
    let calls = 0;
    const result = policy.execute(() => {
      calls++;
      if (calls === 1) throw new Error('once');
      return 'ok';
    });
    await vi.advanceTimersByTimeAsync(1);
    await expect(result).resolves.toBe('ok');
    expect(budget.stats()).toMatchObject({ firstAttempts: 1, retries: 1 }); // one call, one first attempt
  });

  it('fails with the last failure when the budget refuses the hedge a failure asks for', async () => {
    const budget = new RetryBudget({ ratio: 0, minRetriesPerSecond: 0 });
    const policy = hedge({ delay: 10, budget });
    const { fn } = backend([{ after: 5, error: new Error('only') }]);
    const result = policy.execute(fn);
    const settled = expect(result).rejects.toThrow('only');
    await vi.advanceTimersByTimeAsync(5);
    await settled;
  });

  it('gives each hedge its own abort scope inside an enclosing timeout', async () => {
    const policy = wrap(withTimeout(50), hedge({ delay: 10 }));
    const { fn, seen } = backend([
      { after: 1_000, value: 1 },
      { after: 1_000, value: 2 },
    ]);
    const result = policy.execute(fn);
    const settled = expect(result).rejects.toBeInstanceOf(TimeoutError);
    await vi.advanceTimersByTimeAsync(50);
    await settled;
    expect(seen.every((s) => s.abortedWith instanceof TimeoutError)).toBe(true);
  });

  it('counts every attempt in a breaker inside it; hedges that meet the open circuit fail fast without calling fn', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 2 });
    const policy = wrap(hedge({ delay: 10, maxHedges: 3 }), breaker);
    const { fn, seen } = backend([
      { after: 5, error: new Error('a') },
      { after: 5, error: new Error('b') },
    ]);
    const result = policy.execute(fn);
    const settled = expect(result).rejects.toMatchObject({ name: 'BrokenCircuitError' }); // attempts 3 and 4 meet the open circuit
    await vi.advanceTimersByTimeAsync(10);
    await settled;
    expect(seen).toHaveLength(2);
    expect(breaker.state).toBe('open');
    expect(breaker.stats().failures).toBe(2);
  });

  it('leaves ctx.attempt to the nearest enclosing retry: every hedge of retry attempt n reads n', async () => {
    const attempts: number[] = [];
    const policy = wrap(retryWithBackoff({ maxRetries: 1, initialDelay: 0 }), hedge({ delay: 0, maxHedges: 1 }));
    const call = policy.execute((ctx) => {
      attempts.push(ctx.attempt);
      return Promise.reject(new Error('down'));
    });
    const done = call.catch((e: unknown) => e);
    await vi.runAllTimersAsync();
    expect(await done).toMatchObject({ message: 'down' });
    expect(attempts).toEqual([1, 1, 2, 2]);
  });

  it('runs fn once with maxHedges 0', async () => {
    const fn = vi.fn(() => 'x');
    await expect(hedge({ delay: 0, maxHedges: 0 }).execute(fn)).resolves.toBe('x');
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('fails the call, not the process, when a delay function throws', async () => {
    const policy = hedge({
      delay: () => {
        throw new Error('bad delay');
      },
    });
    const { fn, seen } = backend([{ after: 100, value: 1 }]);
    await expect(policy.execute(fn)).rejects.toThrow('bad delay');
    expect(seen[0]!.abortedWith).toBeDefined();
  });

  it('leaves no timer behind when a delay function aborts the caller', async () => {
    const caller = new AbortController();
    const policy = hedge({
      delay: () => {
        caller.abort('gone');
        return 60_000;
      },
    });
    const { fn, seen } = backend([{ after: 100, value: 1 }]);
    await expect(policy.execute(fn, caller.signal)).rejects.toBe('gone');
    expect(seen).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(0); // the attempt's own timer was cleared by its abort; no 60 s delay left
  });

  it('fails the call when a custom budget throws while a hedge is due', async () => {
    const budget = {
      onFirstAttempt() {},
      tryRetry(): boolean {
        throw new Error('budget store unreachable');
      },
    };
    const { fn, seen } = backend([{ after: 1_000, value: 1 }]);
    const result = hedge({ delay: 10, budget }).execute(fn);
    const settled = expect(result).rejects.toThrow('budget store unreachable');
    await vi.advanceTimersByTimeAsync(10);
    await settled;
    expect(seen[0]!.abortedWith).toBeDefined();
  });

  it('rejects bad options naming the option', () => {
    expect(() => hedge(undefined as never)).toThrow(TypeError);
    expect(() => hedge({} as never)).toThrow(/delay/);
    expect(() => hedge({ delay: -1 })).toThrow(RangeError);
    expect(() => hedge({ delay: 10, maxHedges: 1.5 })).toThrow(/maxHedges/);
    expect(() => hedge({ delay: 10, handle: 1 as never })).toThrow(/handle/);
    expect(() => hedge({ delay: 10, budget: {} as never })).toThrow(/budget/);
    expect(hedge({ delay: 10, maxHedges: undefined } as never as { delay: number }).maxHedges).toBe(1);
  });
});
