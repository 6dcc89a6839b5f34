import { getEventListeners } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { seeded } from '../test/helpers/prng.js';
import { settle } from '../test/helpers/settle.js';
import { BrokenCircuitError, BulkheadRejectedError, IsolatedCircuitError, RateLimitedError, TimeoutError } from './errors.js';
import type { PolicyContext } from './policy.js';
import { type RetryEvents, type RetryOptions, retryWithBackoff } from './retry.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  expect(vi.getTimerCount()).toBe(0);
  vi.useRealTimers();
});

/** A function that throws `failures` times (a fresh Error each time), then returns `value`. */
function flaky<T>(failures: number, value: T): ((ctx: PolicyContext) => Promise<T>) & { calls: number; attempts: number[] } {
  const fn = Object.assign(
    async (ctx: PolicyContext): Promise<T> => {
      fn.calls++;
      fn.attempts.push(ctx.attempt);
      if (fn.calls <= failures) throw new Error(`failure ${fn.calls}`);
      return value;
    },
    { calls: 0, attempts: [] as number[] },
  );
  return fn;
}

function record<K extends keyof RetryEvents>(policy: ReturnType<typeof retryWithBackoff>, event: K): RetryEvents[K][] {
  const seen: RetryEvents[K][] = [];
  policy.on(event, (payload) => seen.push(payload));
  return seen;
}

const none = { jitter: 'none' } as const;

describe('retryWithBackoff: defaults', () => {
  it('makes at most 4 calls (maxRetries 3) and rethrows the last error', async () => {
    const fn = flaky(Infinity, 'never');
    const call = settle(retryWithBackoff().execute(fn));
    await vi.runAllTimersAsync();
    expect(fn.calls).toBe(4);
    expect(call.state()).toMatchObject({ status: 'rejected', reason: { message: 'failure 4' } });
  });

  it("schedules 100, 200, 400 ms before jitter, and the default jitter is 'full' (uniform in [0, d])", async () => {
    const retry = retryWithBackoff({ random: () => 0.5 });
    const retries = record(retry, 'retry');
    const call = settle(retry.execute(flaky(Infinity, 0)));
    await vi.runAllTimersAsync();
    expect(retries.map((r) => r.delay)).toEqual([50, 100, 200]);
    expect(call.state().status).toBe('rejected');
  });

  it('uses Math.random for jitter unless told otherwise', async () => {
    const spy = vi.spyOn(Math, 'random').mockReturnValue(0.25);
    try {
      const retry = retryWithBackoff();
      const retries = record(retry, 'retry');
      const call = settle(retry.execute(flaky(1, 'ok')));
      await vi.runAllTimersAsync();
      expect(spy).toHaveBeenCalled();
      expect(retries.map((r) => r.delay)).toEqual([25]);
      expect(call.state()).toEqual({ status: 'fulfilled', value: 'ok' });
    } finally {
      spy.mockRestore();
    }
  });

  it('reads Math.random when it draws, not when the policy is created: a stub set afterwards applies', async () => {
    const retry = retryWithBackoff({ initialDelay: 100, maxRetries: 1 });
    const retries = record(retry, 'retry');
    const spy = vi.spyOn(Math, 'random').mockReturnValue(0.75);
    try {
      const call = settle(retry.execute(flaky(1, 'ok')));
      await vi.runAllTimersAsync();
      expect(retries.map((r) => r.delay)).toEqual([75]);
      expect(call.state()).toEqual({ status: 'fulfilled', value: 'ok' });
    } finally {
      spy.mockRestore();
    }
  });

  it('caps every delay at 30 000 ms by default', async () => {
    const retry = retryWithBackoff({ ...none, initialDelay: 20_000 });
    const retries = record(retry, 'retry');
    settle(retry.execute(flaky(Infinity, 0)));
    await vi.runAllTimersAsync();
    expect(retries.map((r) => r.delay)).toEqual([20_000, 30_000, 30_000]);
  });

  it('treats an option set to undefined as its default', async () => {
    const options: Required<{ [K in keyof RetryOptions]: undefined }> = {
      maxRetries: undefined,
      initialDelay: undefined,
      multiplier: undefined,
      maxDelay: undefined,
      jitter: undefined,
      delay: undefined,
      maxElapsedTime: undefined,
      retryAfter: undefined,
      handle: undefined,
      handleResult: undefined,
      budget: undefined,
      random: undefined,
    };
    const spy = vi.spyOn(Math, 'random').mockReturnValue(1 - Number.EPSILON);
    try {
      const retry = retryWithBackoff(options as unknown as RetryOptions);
      const retries = record(retry, 'retry');
      const fn = flaky(Infinity, 0);
      settle(retry.execute(fn));
      await vi.runAllTimersAsync();
      expect(fn.calls).toBe(4);
      expect(retries.map((r) => Math.round(r.delay))).toEqual([100, 200, 400]);
    } finally {
      spy.mockRestore();
    }
  });

  it('accepts no options at all, and an empty object', () => {
    expect(() => retryWithBackoff()).not.toThrow();
    expect(() => retryWithBackoff({})).not.toThrow();
  });
});

describe('retryWithBackoff: the schedule', () => {
  it('does not start the next attempt a millisecond before its delay has passed', async () => {
    const fn = flaky(2, 'ok');
    const call = settle(retryWithBackoff({ ...none, initialDelay: 100, multiplier: 3 }).execute(fn));
    await vi.advanceTimersByTimeAsync(0);
    expect(fn.calls).toBe(1);
    await vi.advanceTimersByTimeAsync(99);
    expect(fn.calls).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(fn.calls).toBe(2);
    await vi.advanceTimersByTimeAsync(299);
    expect(fn.calls).toBe(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(fn.calls).toBe(3);
    await call.promise;
    expect(call.state()).toEqual({ status: 'fulfilled', value: 'ok' });
  });

  it('maxRetries: 0 calls fn once and rethrows its error', async () => {
    const fn = flaky(Infinity, 0);
    const retry = retryWithBackoff({ maxRetries: 0 });
    const giveUps = record(retry, 'giveUp');
    await expect(retry.execute(fn)).rejects.toThrow('failure 1');
    expect(fn.calls).toBe(1);
    expect(giveUps).toEqual([{ attempts: 1, reason: 'maxRetries', elapsed: 0, error: expect.objectContaining({ message: 'failure 1' }) }]);
  });

  it('maxRetries: 5 calls fn at most 6 times', async () => {
    const fn = flaky(Infinity, 0);
    settle(retryWithBackoff({ maxRetries: 5, initialDelay: 1 }).execute(fn));
    await vi.runAllTimersAsync();
    expect(fn.calls).toBe(6);
  });

  it('maxRetries: Infinity keeps retrying until fn succeeds', async () => {
    const fn = flaky(200, 'finally');
    const call = settle(retryWithBackoff({ maxRetries: Infinity, initialDelay: 1, multiplier: 1 }).execute(fn));
    await vi.runAllTimersAsync();
    expect(fn.calls).toBe(201);
    expect(call.state()).toEqual({ status: 'fulfilled', value: 'finally' });
  });

  it('initialDelay, multiplier and maxDelay shape the exact schedule with jitter none', async () => {
    const retry = retryWithBackoff({ ...none, maxRetries: 6, initialDelay: 10, multiplier: 3, maxDelay: 1_000 });
    const retries = record(retry, 'retry');
    settle(retry.execute(flaky(Infinity, 0)));
    await vi.runAllTimersAsync();
    expect(retries.map((r) => r.delay)).toEqual([10, 30, 90, 270, 810, 1_000]);
    expect(retries.map((r) => r.attempt)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('initialDelay 0 retries on the next timer tick, still through a timer', async () => {
    const fn = flaky(1, 'ok');
    const call = settle(retryWithBackoff({ initialDelay: 0 }).execute(fn));
    await vi.advanceTimersByTimeAsync(0);
    expect(call.state()).toEqual({ status: 'fulfilled', value: 'ok' });
    expect(fn.calls).toBe(2);
  });

  it('tells fn the 1-based attempt number through ctx.attempt', async () => {
    const fn = flaky(3, 'ok');
    settle(retryWithBackoff({ initialDelay: 1 }).execute(fn));
    await vi.runAllTimersAsync();
    expect(fn.attempts).toEqual([1, 2, 3, 4]);
  });

  it('retries a synchronous throw and accepts a synchronous value', async () => {
    let calls = 0;
    const call = settle(
      retryWithBackoff({ initialDelay: 1 }).execute(() => {
        if (++calls < 3) throw new Error('sync');
        return 42;
      }),
    );
    await vi.runAllTimersAsync();
    expect(call.state()).toEqual({ status: 'fulfilled', value: 42 });
    expect(calls).toBe(3);
  });

  it('retries thrown values that are not Errors', async () => {
    let calls = 0;
    const call = settle(
      retryWithBackoff({ initialDelay: 1 }).execute(() => {
        if (++calls < 2) throw 'a string';
        return 'ok';
      }),
    );
    await vi.runAllTimersAsync();
    expect(call.state()).toEqual({ status: 'fulfilled', value: 'ok' });
  });
});

describe('retryWithBackoff: jitter over many seeded draws', () => {
  const RETRIES = 300;

  async function delays(options: RetryOptions): Promise<number[]> {
    const retry = retryWithBackoff({ maxRetries: RETRIES, initialDelay: 100, maxDelay: 5_000, ...options });
    const retries = record(retry, 'retry');
    settle(retry.execute(flaky(Infinity, 0)));
    await vi.runAllTimersAsync();
    expect(retries).toHaveLength(RETRIES);
    return retries.map((r) => r.delay);
  }
  const d = (n: number): number => Math.min(100 * 2 ** (n - 1), 5_000);

  it("'none' is exact", async () => {
    const got = await delays({ jitter: 'none', random: seeded(1) });
    expect(got).toEqual(got.map((_, i) => d(i + 1)));
  });

  it("'full' stays in [0, d] and spreads over it", async () => {
    const got = await delays({ jitter: 'full', random: seeded(2) });
    const ratios = got.map((delay, i) => delay / d(i + 1));
    expect(Math.min(...ratios)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...ratios)).toBeLessThanOrEqual(1);
    expect(Math.min(...ratios)).toBeLessThan(0.05);
    expect(Math.max(...ratios)).toBeGreaterThan(0.95);
  });

  it("'equal' stays in [d/2, d] and spreads over it", async () => {
    const got = await delays({ jitter: 'equal', random: seeded(3) });
    const ratios = got.map((delay, i) => delay / d(i + 1));
    expect(Math.min(...ratios)).toBeGreaterThanOrEqual(0.5);
    expect(Math.max(...ratios)).toBeLessThanOrEqual(1);
    expect(Math.min(...ratios)).toBeLessThan(0.55);
    expect(Math.max(...ratios)).toBeGreaterThan(0.95);
  });

  it("'decorrelated' stays in [initialDelay, 3 × previous delay], capped at maxDelay", async () => {
    const got = await delays({ jitter: 'decorrelated', random: seeded(4) });
    const outside = got.filter((delay, i) => !(delay >= 100 && delay <= Math.min(3 * (i === 0 ? 100 : got[i - 1]!), 5_000)));
    expect(outside).toEqual([]);
    expect(Math.max(...got)).toBeGreaterThan(4_500);
  });

  it('the same seed gives the same schedule', async () => {
    const a = await delays({ jitter: 'full', random: seeded(9) });
    const b = await delays({ jitter: 'full', random: seeded(9) });
    expect(a).toEqual(b);
  });
});

describe('retryWithBackoff: delay, maxElapsedTime, retryAfter', () => {
  it('a custom delay(attempt, outcome) replaces the schedule', async () => {
    const delay = vi.fn((attempt: number, _outcome: unknown) => attempt * 7);
    const retry = retryWithBackoff({ delay, initialDelay: 1_000 });
    const retries = record(retry, 'retry');
    const fn = flaky(3, 'ok');
    settle(retry.execute(fn));
    await vi.runAllTimersAsync();
    expect(retries.map((r) => r.delay)).toEqual([7, 14, 21]);
    expect(delay.mock.calls.map(([attempt, outcome]) => [attempt, (outcome as { error: Error }).error.message])).toEqual([
      [1, 'failure 1'],
      [2, 'failure 2'],
      [3, 'failure 3'],
    ]);
  });

  it('a custom delay receives { value } for a handled result', async () => {
    const delay = vi.fn(() => 5);
    let n = 0;
    settle(retryWithBackoff({ delay, handleResult: (v) => v === 'bad' }).execute(() => (++n < 2 ? 'bad' : 'good')));
    await vi.runAllTimersAsync();
    expect(delay).toHaveBeenCalledWith(1, { value: 'bad' });
  });

  it('a custom delay is still capped by maxDelay; a negative or NaN one means 0', async () => {
    const answers = [10_000, -5, Number.NaN];
    const retry = retryWithBackoff({ maxDelay: 500, delay: (attempt) => answers[attempt - 1] ?? 0 });
    const retries = record(retry, 'retry');
    settle(retry.execute(flaky(Infinity, 0)));
    await vi.runAllTimersAsync();
    expect(retries.map((r) => r.delay)).toEqual([500, 0, 0]);
  });

  it('maxElapsedTime gives up rather than schedule a retry that would start too late', async () => {
    const retry = retryWithBackoff({ ...none, maxRetries: 10, initialDelay: 100, maxElapsedTime: 250 });
    const giveUps = record(retry, 'giveUp');
    const fn = flaky(Infinity, 0);
    const call = settle(retry.execute(fn));
    await vi.runAllTimersAsync();
    // Attempt 2 starts at 100 ms; attempt 3 would start at 300 ms > 250 ms.
    expect(fn.calls).toBe(2);
    expect(giveUps).toEqual([{ attempts: 2, reason: 'maxElapsedTime', elapsed: 100, error: expect.objectContaining({ message: 'failure 2' }) }]);
    expect(call.state()).toMatchObject({ status: 'rejected', reason: { message: 'failure 2' } });
  });

  it('maxElapsedTime counts the time spent inside fn, from the start of the first attempt', async () => {
    const retry = retryWithBackoff({ ...none, maxRetries: 10, initialDelay: 50, multiplier: 1, maxElapsedTime: 499 });
    let calls = 0;
    const slow = (): Promise<never> => {
      calls++;
      return new Promise((_, reject) => setTimeout(() => reject(new Error('slow failure')), 200));
    };
    settle(retry.execute(slow));
    await vi.runAllTimersAsync();
    // Attempts start at 0 and 250, each failing 200 ms later; the third would start at 500 > 499.
    expect(calls).toBe(2);
  });

  it('a retry that starts exactly at maxElapsedTime is still allowed', async () => {
    const fn = flaky(Infinity, 0);
    settle(retryWithBackoff({ ...none, maxRetries: 10, initialDelay: 100, multiplier: 1, maxElapsedTime: 200 }).execute(fn));
    await vi.runAllTimersAsync();
    expect(fn.calls).toBe(3);
  });

  it("reads a finite, non-negative numeric retryAfter on the thrown error by default, replacing the computed delay", async () => {
    const retry = retryWithBackoff({ jitter: 'full', random: () => 0 });
    const retries = record(retry, 'retry');
    let n = 0;
    const call = settle(
      retry.execute(() => {
        if (++n === 1) throw new RateLimitedError('slow down', { retryAfter: 1_500 });
        if (n === 2) throw Object.assign(new Error('hinted'), { retryAfter: 0 });
        return 'ok';
      }),
    );
    await vi.advanceTimersByTimeAsync(1_499);
    expect(n).toBe(1);
    await vi.runAllTimersAsync();
    expect(retries.map((r) => r.delay)).toEqual([1_500, 0]);
    expect(call.state()).toEqual({ status: 'fulfilled', value: 'ok' });
  });

  it('ignores a retryAfter field that is negative, NaN, infinite or not a number', async () => {
    const retry = retryWithBackoff({ ...none, maxRetries: 4, initialDelay: 10, multiplier: 1 });
    const retries = record(retry, 'retry');
    const hints: unknown[] = [-1, Number.NaN, Infinity, '2000'];
    let n = 0;
    settle(retry.execute(() => Promise.reject(Object.assign(new Error('x'), { retryAfter: hints[n++] }))));
    await vi.runAllTimersAsync();
    expect(retries.map((r) => r.delay)).toEqual([10, 10, 10, 10]);
  });

  it('caps the default retryAfter hint at maxDelay', async () => {
    const retry = retryWithBackoff({ maxDelay: 2_000 });
    const retries = record(retry, 'retry');
    let n = 0;
    settle(retry.execute(() => (++n === 1 ? Promise.reject(new RateLimitedError(undefined, { retryAfter: 60_000 })) : 'ok')));
    await vi.runAllTimersAsync();
    expect(retries.map((r) => r.delay)).toEqual([2_000]);
  });

  it('a custom retryAfter(outcome) replaces the default; undefined falls back to the schedule', async () => {
    const retryAfter = vi.fn((outcome: { error?: unknown; value?: unknown }) =>
      'value' in outcome && outcome.value === 429 ? 777 : undefined,
    );
    const retry = retryWithBackoff({ ...none, initialDelay: 10, retryAfter, handleResult: (v) => v === 429 });
    const retries = record(retry, 'retry');
    let n = 0;
    const call = settle(
      retry.execute(() => {
        n++;
        if (n === 1) return 429;
        if (n === 2) throw new RateLimitedError(undefined, { retryAfter: 5_000 }); // the default reader is replaced
        return 200;
      }),
    );
    await vi.runAllTimersAsync();
    expect(retries.map((r) => r.delay)).toEqual([777, 20]);
    expect(retryAfter).toHaveBeenCalledWith({ value: 429 });
    expect(call.state()).toEqual({ status: 'fulfilled', value: 200 });
  });

  it('a custom retryAfter that returns a negative number or NaN gives no hint: the schedule applies', async () => {
    const hints = [-1, Number.NaN];
    let n = 0;
    const retry = retryWithBackoff({ ...none, maxRetries: 2, initialDelay: 40, multiplier: 1, retryAfter: () => hints[n++] });
    const retries = record(retry, 'retry');
    settle(retry.execute(flaky(Infinity, 0)));
    await vi.runAllTimersAsync();
    expect(retries.map((r) => r.delay)).toEqual([40, 40]);
  });

  it('a retryAfter hint wins over a custom delay', async () => {
    const retry = retryWithBackoff({ delay: () => 5, retryAfter: () => 321 });
    const retries = record(retry, 'retry');
    settle(retry.execute(flaky(1, 'ok')));
    await vi.runAllTimersAsync();
    expect(retries.map((r) => r.delay)).toEqual([321]);
  });
});

describe('retryWithBackoff: handle and handleResult', () => {
  const loadShedding = [
    ['BrokenCircuitError', () => new BrokenCircuitError('open', { retryAfter: 10 })],
    ['IsolatedCircuitError', () => new IsolatedCircuitError()],
    ['BulkheadRejectedError', () => new BulkheadRejectedError()],
    [
      'a BrokenCircuitError from another copy of the package (same name)',
      () => Object.assign(new Error('open elsewhere'), { name: 'BrokenCircuitError' }),
    ],
    ['a BulkheadRejectedError from another copy of the package', () => Object.assign(new Error('full'), { name: 'BulkheadRejectedError' })],
  ] as const;

  for (const [label, make] of loadShedding) {
    it(`does not retry ${label} by default`, async () => {
      const error = make();
      const retry = retryWithBackoff();
      const retries = record(retry, 'retry');
      const fn = vi.fn(() => Promise.reject(error));
      await expect(retry.execute(fn)).rejects.toBe(error);
      expect(fn).toHaveBeenCalledTimes(1);
      expect(retries).toEqual([]);
    });
  }

  it('retries a TimeoutError (from a per-attempt timeout) by default', async () => {
    const fn = vi.fn().mockRejectedValueOnce(new TimeoutError()).mockResolvedValue('ok');
    const call = settle(retryWithBackoff({ initialDelay: 1 }).execute(fn));
    await vi.runAllTimersAsync();
    expect(call.state()).toEqual({ status: 'fulfilled', value: 'ok' });
  });

  it('a custom handle decides which errors are retried; others pass straight through with no event', async () => {
    const retry = retryWithBackoff({ initialDelay: 1, handle: (e) => e instanceof Error && e.message === 'transient' });
    const retries = record(retry, 'retry');
    const giveUps = record(retry, 'giveUp');
    const fatal = new Error('fatal');
    const fn = vi.fn().mockRejectedValueOnce(new Error('transient')).mockRejectedValueOnce(fatal);
    const call = settle(retry.execute(fn));
    await vi.runAllTimersAsync();
    expect(call.state()).toEqual({ status: 'rejected', reason: fatal });
    expect(fn).toHaveBeenCalledTimes(2);
    expect(retries).toHaveLength(1);
    expect(giveUps).toEqual([]);
  });

  it('a custom handle can opt in to retrying a BrokenCircuitError', async () => {
    const fn = vi.fn().mockRejectedValueOnce(new BrokenCircuitError()).mockResolvedValue('ok');
    const call = settle(retryWithBackoff({ initialDelay: 1, handle: () => true }).execute(fn));
    await vi.runAllTimersAsync();
    expect(call.state()).toEqual({ status: 'fulfilled', value: 'ok' });
  });

  it('returned values are not retried by default', async () => {
    const fn = vi.fn(() => ({ status: 503 }));
    await expect(retryWithBackoff().execute(fn)).resolves.toEqual({ status: 503 });
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('handleResult retries matching values and returns the good one', async () => {
    const statuses = [503, 503, 200];
    let n = 0;
    const retry = retryWithBackoff({ initialDelay: 1, handleResult: (r) => (r as { status: number }).status >= 500 });
    const retries = record(retry, 'retry');
    const call = settle(retry.execute(() => ({ status: statuses[n++] })));
    await vi.runAllTimersAsync();
    expect(call.state()).toEqual({ status: 'fulfilled', value: { status: 200 } });
    expect(retries.map((r) => r.value)).toEqual([{ status: 503 }, { status: 503 }]);
    expect(retries.every((r) => !('error' in r))).toBe(true);
  });

  it('when retries run out on a handled result, that last result is returned (not thrown)', async () => {
    let n = 0;
    const retry = retryWithBackoff({ maxRetries: 2, initialDelay: 1, handleResult: () => true });
    const giveUps = record(retry, 'giveUp');
    const call = settle(retry.execute(() => ({ n: ++n })));
    await vi.runAllTimersAsync();
    expect(call.state()).toEqual({ status: 'fulfilled', value: { n: 3 } });
    expect(giveUps).toEqual([{ attempts: 3, reason: 'maxRetries', elapsed: expect.any(Number), value: { n: 3 } }]);
  });
});

describe('retryWithBackoff: option functions that throw', () => {
  const bug = new Error('option bug');
  const boom = (): never => {
    throw bug;
  };

  it('a throwing handleResult counts as a failed attempt, on the first attempt and later ones', async () => {
    let n = 0;
    const handleResult = vi.fn((value: unknown) => {
      if (value === 'explode') throw bug;
      return false;
    });
    const call = settle(
      retryWithBackoff({ initialDelay: 1, handleResult }).execute(() => (++n <= 2 ? 'explode' : 'fine')),
    );
    await vi.runAllTimersAsync();
    expect(call.state()).toEqual({ status: 'fulfilled', value: 'fine' });
    expect(n).toBe(3);
  });

  it('a throwing delay, retryAfter or handle rejects the call with its error and leaves no timer', async () => {
    for (const options of [{ delay: boom }, { retryAfter: boom }, { handle: boom }] as RetryOptions[]) {
      const fn = flaky(Infinity, 0);
      const call = settle(retryWithBackoff({ initialDelay: 1, ...options }).execute(fn));
      await vi.runAllTimersAsync();
      expect(call.state()).toEqual({ status: 'rejected', reason: bug });
      expect(fn.calls).toBe(1);
    }
  });

  it('a throwing delay after a later attempt rejects the call too', async () => {
    const fn = flaky(Infinity, 0);
    const call = settle(retryWithBackoff({ delay: (attempt) => (attempt < 2 ? 1 : boom()) }).execute(fn));
    await vi.runAllTimersAsync();
    expect(call.state()).toEqual({ status: 'rejected', reason: bug });
    expect(fn.calls).toBe(2);
  });

  it('a budget whose onFirstAttempt throws rejects the call, never throwing from execute', async () => {
    const retry = retryWithBackoff({ budget: { onFirstAttempt: boom, tryRetry: () => true } });
    let result: Promise<unknown> | undefined;
    expect(() => (result = retry.execute(() => 1))).not.toThrow();
    await expect(result).rejects.toBe(bug);
  });
});

describe('retryWithBackoff: events', () => {
  it('emits retry { attempt, delay, error } per failed attempt, then success { attempts }', async () => {
    const retry = retryWithBackoff({ ...none, initialDelay: 10 });
    const events: unknown[] = [];
    retry.on('retry', (p) => events.push(['retry', p]));
    retry.on('success', (p) => events.push(['success', p]));
    retry.on('giveUp', (p) => events.push(['giveUp', p]));
    settle(retry.execute(flaky(2, 'ok')));
    await vi.runAllTimersAsync();
    expect(events).toEqual([
      ['retry', { attempt: 1, delay: 10, error: expect.objectContaining({ message: 'failure 1' }) }],
      ['retry', { attempt: 2, delay: 20, error: expect.objectContaining({ message: 'failure 2' }) }],
      ['success', { attempts: 3, elapsed: 30 }],
    ]);
  });

  it('emits success { attempts: 1 } when the first attempt succeeds', async () => {
    const retry = retryWithBackoff();
    const successes = record(retry, 'success');
    await retry.execute(() => 'first time');
    expect(successes).toEqual([{ attempts: 1, elapsed: 0 }]);
  });

  it('emits success also when a handleResult is set and accepts the value', async () => {
    const retry = retryWithBackoff({ initialDelay: 1, handleResult: (v) => v === 'bad' });
    const successes = record(retry, 'success');
    await retry.execute(() => 'good');
    let n = 0;
    settle(retry.execute(() => (++n < 2 ? 'bad' : 'good')));
    await vi.runAllTimersAsync();
    expect(successes).toEqual([
      { attempts: 1, elapsed: 0 },
      { attempts: 2, elapsed: expect.any(Number) },
    ]);
  });

  it('emits giveUp { attempts, reason, error } when retries run out', async () => {
    const retry = retryWithBackoff({ maxRetries: 1, initialDelay: 1 });
    const giveUps = record(retry, 'giveUp');
    const successes = record(retry, 'success');
    settle(retry.execute(flaky(Infinity, 0)));
    await vi.runAllTimersAsync();
    expect(giveUps).toEqual([{ attempts: 2, reason: 'maxRetries', elapsed: expect.any(Number), error: expect.objectContaining({ message: 'failure 2' }) }]);
    expect(successes).toEqual([]);
  });

  it('success and giveUp carry elapsed: the ms from the first attempt to the end, delays included', async () => {
    const retry = retryWithBackoff({ ...none, maxRetries: 2, initialDelay: 100 });
    const successes = record(retry, 'success');
    const giveUps = record(retry, 'giveUp');
    const slow = (ms: number, fail: boolean) => () => new Promise((resolve, reject) => setTimeout(() => (fail ? reject(new Error('slow failure')) : resolve('ok')), ms));
    settle(retry.execute(slow(40, false)));
    await vi.runAllTimersAsync();
    expect(successes).toEqual([{ attempts: 1, elapsed: 40 }]);
    // Three attempts of 10 ms each, after delays of 100 and 200 ms: 330 ms.
    settle(retry.execute(slow(10, true)));
    await vi.runAllTimersAsync();
    expect(giveUps).toEqual([{ attempts: 3, reason: 'maxRetries', elapsed: 330, error: expect.objectContaining({ message: 'slow failure' }) }]);
    let n = 0;
    settle(retry.execute(() => (++n < 3 ? Promise.reject(new Error('flaky')) : 'ok')));
    await vi.runAllTimersAsync();
    expect(successes.at(-1)).toEqual({ attempts: 3, elapsed: 300 });
  });

  it('has no elapsed for a call that began before anyone listened to success or giveUp, and still emits', async () => {
    const retry = retryWithBackoff({ ...none, initialDelay: 10 });
    let finish!: (value: string) => void;
    const first = retry.execute(() => new Promise<string>((resolve) => (finish = resolve)));
    let n = 0;
    const second = settle(retry.execute(() => (++n < 2 ? Promise.reject(new Error('flaky')) : 'ok')));
    const successes = record(retry, 'success');
    finish('late');
    await first;
    await vi.runAllTimersAsync();
    expect(second.state()).toEqual({ status: 'fulfilled', value: 'ok' });
    expect(successes).toEqual([{ attempts: 1 }, { attempts: 2 }]);
  });

  it('reads the clock only for a listener of success or giveUp, or for maxElapsedTime: the happy path without them never', async () => {
    const clock = vi.spyOn(performance, 'now');
    const plain = retryWithBackoff();
    plain.on('retry', () => {}); // retry carries no elapsed: no reason to time the call
    await plain.execute(() => 'ok');
    await retryWithBackoff({ handleResult: () => false }).execute(() => 'ok');
    expect(clock).not.toHaveBeenCalled();
    const timed = retryWithBackoff();
    timed.on('giveUp', () => {});
    await timed.execute(() => 'ok');
    expect(clock).toHaveBeenCalledTimes(1); // the start; a success nobody listens to needs no end
    clock.mockRestore();
  });

  it('emits retry before the delay starts, so a listener sees it while the next attempt is pending', async () => {
    const retry = retryWithBackoff({ ...none, initialDelay: 100 });
    const fn = flaky(1, 'ok');
    let callsAtRetry = -1;
    retry.on('retry', () => (callsAtRetry = fn.calls));
    settle(retry.execute(fn));
    await vi.advanceTimersByTimeAsync(0);
    expect(callsAtRetry).toBe(1);
    await vi.runAllTimersAsync();
  });

  it('stops emitting to an unsubscribed listener', async () => {
    const retry = retryWithBackoff({ initialDelay: 1 });
    const listener = vi.fn();
    const off = retry.on('retry', listener);
    off();
    settle(retry.execute(flaky(1, 'ok')));
    await vi.runAllTimersAsync();
    expect(listener).not.toHaveBeenCalled();
  });
});

describe('retryWithBackoff: budget', () => {
  function stubBudget(allow: number) {
    let left = allow;
    return { onFirstAttempt: vi.fn<() => void>(), tryRetry: vi.fn(() => left-- > 0) };
  }

  it('tells the budget of each first attempt and asks it before every retry', async () => {
    const budget = stubBudget(Infinity);
    const retry = retryWithBackoff({ initialDelay: 1, budget });
    settle(retry.execute(flaky(2, 'ok')));
    await vi.runAllTimersAsync();
    expect(budget.onFirstAttempt).toHaveBeenCalledTimes(1);
    expect(budget.tryRetry).toHaveBeenCalledTimes(2);
  });

  it('gives up with reason budget, rethrowing the last error, when the budget refuses', async () => {
    const budget = stubBudget(1);
    const retry = retryWithBackoff({ initialDelay: 1, budget });
    const giveUps = record(retry, 'giveUp');
    const fn = flaky(Infinity, 0);
    const call = settle(retry.execute(fn));
    await vi.runAllTimersAsync();
    expect(fn.calls).toBe(2);
    expect(giveUps).toEqual([{ attempts: 2, reason: 'budget', elapsed: expect.any(Number), error: expect.objectContaining({ message: 'failure 2' }) }]);
    expect(call.state()).toMatchObject({ status: 'rejected', reason: { message: 'failure 2' } });
  });

  it('does not ask the budget when no retry is due (success, or maxRetries reached)', async () => {
    const budget = stubBudget(Infinity);
    const retry = retryWithBackoff({ maxRetries: 0, budget });
    await retry.execute(() => 'ok');
    await expect(retry.execute(() => Promise.reject(new Error('x')))).rejects.toThrow('x');
    expect(budget.onFirstAttempt).toHaveBeenCalledTimes(2);
    expect(budget.tryRetry).not.toHaveBeenCalled();
  });
});

describe('retryWithBackoff: abort', () => {
  it('before the call: fn is not called and the promise rejects with signal.reason', async () => {
    const reason = new Error('caller gave up');
    const fn = vi.fn();
    await expect(retryWithBackoff().execute(fn, AbortSignal.abort(reason))).rejects.toBe(reason);
    expect(fn).not.toHaveBeenCalled();
  });

  it('during an attempt: the attempt sees ctx.signal abort, and the abort is not retried', async () => {
    const controller = new AbortController();
    const retry = retryWithBackoff({ handle: () => true });
    const retries = record(retry, 'retry');
    const fn = vi.fn(
      ({ signal }: PolicyContext) =>
        new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true })),
    );
    const call = settle(retry.execute(fn, controller.signal));
    await vi.advanceTimersByTimeAsync(10);
    const reason = new Error('stop');
    controller.abort(reason);
    await vi.advanceTimersByTimeAsync(0);
    expect(call.state()).toEqual({ status: 'rejected', reason });
    await vi.runAllTimersAsync();
    expect(fn).toHaveBeenCalledTimes(1);
    expect(retries).toEqual([]);
  });

  it('during a later attempt: the abort is not retried either', async () => {
    const controller = new AbortController();
    const reason = new Error('stop');
    let calls = 0;
    const fn = (ctx: PolicyContext): Promise<never> => {
      calls++;
      if (calls === 1) return Promise.reject(new Error('first failure'));
      return new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true }));
    };
    const tryRetry = vi.fn(() => true);
    const retry = retryWithBackoff({ ...none, initialDelay: 10, handle: () => true, budget: { onFirstAttempt: () => {}, tryRetry } });
    const retries = record(retry, 'retry');
    const call = settle(retry.execute(fn, controller.signal));
    await vi.advanceTimersByTimeAsync(15);
    expect(calls).toBe(2);
    controller.abort(reason);
    await vi.runAllTimersAsync();
    expect(call.state()).toEqual({ status: 'rejected', reason });
    expect(calls).toBe(2);
    // The abort is no failure: no retry is planned for it, and no budget is spent on it.
    expect(retries.map((r) => r.attempt)).toEqual([1]);
    expect(tryRetry).toHaveBeenCalledTimes(1);
  });

  it('during an attempt whose fn ignores the signal: its later failure is not retried', async () => {
    const controller = new AbortController();
    const fn = vi.fn(() => new Promise((_, reject) => setTimeout(() => reject(new Error('late failure')), 50)));
    const call = settle(retryWithBackoff().execute(fn, controller.signal));
    controller.abort();
    await vi.runAllTimersAsync();
    expect(call.state().status).toBe('rejected');
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('during a handled result: no further attempt starts', async () => {
    const controller = new AbortController();
    const reason = new Error('stop');
    const fn = vi.fn(() => {
      controller.abort(reason);
      return 'bad';
    });
    const call = settle(retryWithBackoff({ handleResult: () => true }).execute(fn, controller.signal));
    await vi.runAllTimersAsync();
    expect(call.state()).toEqual({ status: 'rejected', reason });
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('during a delay: rejects at once with signal.reason, clears the delay and starts no attempt', async () => {
    const controller = new AbortController();
    const fn = flaky(Infinity, 0);
    const call = settle(retryWithBackoff({ ...none, initialDelay: 10_000 }).execute(fn, controller.signal));
    await vi.advanceTimersByTimeAsync(100);
    expect(fn.calls).toBe(1);
    expect(vi.getTimerCount()).toBe(1);
    const reason = new Error('no more');
    controller.abort(reason);
    await Promise.resolve();
    await Promise.resolve();
    expect(call.state()).toEqual({ status: 'rejected', reason });
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(1_000_000);
    expect(fn.calls).toBe(1);
  });

  it('leaves no abort listener on a long-lived caller signal after many calls with retries', async () => {
    const controller = new AbortController();
    const retry = retryWithBackoff({ initialDelay: 1 });
    for (let i = 0; i < 20; i++) {
      const call = settle(retry.execute(flaky(2, i), controller.signal));
      await vi.runAllTimersAsync();
      expect(call.state()).toEqual({ status: 'fulfilled', value: i });
    }
    const failed = settle(retry.execute(flaky(Infinity, 0), controller.signal));
    await vi.runAllTimersAsync();
    expect(failed.state().status).toBe('rejected');
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });
});

describe('retryWithBackoff: delays beyond 2^31-1 ms', () => {
  const MAX = 2 ** 31 - 1;

  it('a delay above 2^31-1 ms neither fires early nor overflows', async () => {
    const delay = MAX + 1_000;
    const fn = flaky(1, 'ok');
    const call = settle(retryWithBackoff({ ...none, initialDelay: delay, maxDelay: Infinity, maxRetries: 1 }).execute(fn));
    await vi.advanceTimersByTimeAsync(1);
    expect(fn.calls).toBe(1);
    await vi.advanceTimersByTimeAsync(MAX);
    expect(fn.calls).toBe(1);
    await vi.advanceTimersByTimeAsync(delay - MAX - 2);
    expect(fn.calls).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(fn.calls).toBe(2);
    expect(call.state()).toEqual({ status: 'fulfilled', value: 'ok' });
  });

  it('a retryAfter hint above 2^31-1 ms with no cap waits its full length', async () => {
    const hint = 3 * MAX;
    let n = 0;
    const fn = vi.fn(() => (++n === 1 ? Promise.reject(new RateLimitedError(undefined, { retryAfter: hint })) : 'ok'));
    const call = settle(retryWithBackoff({ maxDelay: Infinity }).execute(fn));
    await vi.advanceTimersByTimeAsync(hint - 1);
    expect(fn).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(call.state()).toEqual({ status: 'fulfilled', value: 'ok' });
  });

  it('an Infinity delay (maxDelay: Infinity) never fires, and an abort still ends it', async () => {
    const controller = new AbortController();
    const fn = flaky(Infinity, 0);
    const call = settle(retryWithBackoff({ maxDelay: Infinity, delay: () => Infinity }).execute(fn, controller.signal));
    await vi.advanceTimersByTimeAsync(100 * MAX);
    expect(fn.calls).toBe(1);
    expect(call.state().status).toBe('pending');
    controller.abort('enough');
    await vi.advanceTimersByTimeAsync(0);
    expect(call.state()).toEqual({ status: 'rejected', reason: 'enough' });
  });

  it('an abort during a delay above 2^31-1 ms still cancels it at once', async () => {
    const controller = new AbortController();
    const fn = flaky(Infinity, 0);
    const call = settle(retryWithBackoff({ ...none, initialDelay: 5 * MAX, maxDelay: Infinity }).execute(fn, controller.signal));
    await vi.advanceTimersByTimeAsync(2 * MAX);
    controller.abort();
    await vi.advanceTimersByTimeAsync(0);
    expect(call.state()).toMatchObject({ status: 'rejected', reason: { name: 'AbortError' } });
    expect(vi.getTimerCount()).toBe(0);
    expect(fn.calls).toBe(1);
  });
});

describe('retryWithBackoff: invalid options', () => {
  const numeric = ['maxRetries', 'initialDelay', 'multiplier', 'maxDelay', 'maxElapsedTime'] as const;

  for (const name of numeric) {
    it(`${name}: a non-number is a TypeError naming the option`, () => {
      expect(() => retryWithBackoff({ [name]: '5' } as RetryOptions)).toThrow(TypeError);
      expect(() => retryWithBackoff({ [name]: '5' } as RetryOptions)).toThrow(name);
      expect(() => retryWithBackoff({ [name]: null } as unknown as RetryOptions)).toThrow(TypeError);
    });
    it(`${name}: a negative number or NaN is a RangeError naming the option`, () => {
      expect(() => retryWithBackoff({ [name]: -1 })).toThrow(RangeError);
      expect(() => retryWithBackoff({ [name]: -1 })).toThrow(name);
      expect(() => retryWithBackoff({ [name]: Number.NaN })).toThrow(RangeError);
    });
  }

  it('maxRetries must be an integer; Infinity is allowed', () => {
    expect(() => retryWithBackoff({ maxRetries: 1.5 })).toThrow(RangeError);
    expect(() => retryWithBackoff({ maxRetries: Infinity })).not.toThrow();
  });

  it('initialDelay must be finite; maxDelay and maxElapsedTime may be Infinity', () => {
    expect(() => retryWithBackoff({ initialDelay: Infinity })).toThrow(/initialDelay/);
    expect(() => retryWithBackoff({ maxDelay: Infinity, maxElapsedTime: Infinity })).not.toThrow();
  });

  it('multiplier below 1 is a RangeError (the delays would shrink)', () => {
    expect(() => retryWithBackoff({ multiplier: 0.5 })).toThrow(RangeError);
    expect(() => retryWithBackoff({ multiplier: 0.5 })).toThrow('multiplier');
    expect(() => retryWithBackoff({ multiplier: 1 })).not.toThrow();
  });

  it('jitter: an unknown name is a RangeError, a non-string a TypeError, both naming the option', () => {
    expect(() => retryWithBackoff({ jitter: 'random' as never })).toThrow(RangeError);
    expect(() => retryWithBackoff({ jitter: 'random' as never })).toThrow('jitter');
    expect(() => retryWithBackoff({ jitter: 1 as never })).toThrow(TypeError);
  });

  for (const name of ['delay', 'retryAfter', 'handle', 'handleResult', 'random'] as const) {
    it(`${name}: a non-function is a TypeError naming the option`, () => {
      expect(() => retryWithBackoff({ [name]: 5 } as unknown as RetryOptions)).toThrow(TypeError);
      expect(() => retryWithBackoff({ [name]: 5 } as unknown as RetryOptions)).toThrow(name);
    });
  }

  it('budget: an object without onFirstAttempt/tryRetry is a TypeError naming the option', () => {
    expect(() => retryWithBackoff({ budget: {} as never })).toThrow(TypeError);
    expect(() => retryWithBackoff({ budget: { tryRetry: () => true } as never })).toThrow('budget');
    expect(() => retryWithBackoff({ budget: null as never })).toThrow(TypeError);
  });

  it('options that are not an object are a TypeError', () => {
    expect(() => retryWithBackoff(null as never)).toThrow(TypeError);
    expect(() => retryWithBackoff(3 as never)).toThrow(TypeError);
  });
});

describe('retryWithBackoff: a handled result after the caller gave up', () => {
  it('rejects with the caller’s reason, emits no retry and spends no budget', async () => {
    const budget = { onFirstAttempt: vi.fn(), tryRetry: vi.fn(() => true) };
    const retry = retryWithBackoff({ handleResult: (v) => v === 503, budget });
    const retries: unknown[] = [];
    retry.on('retry', (e) => retries.push(e));
    const caller = new AbortController();
    const reason = new Error('user left');
    const call = retry.execute(async () => {
      caller.abort(reason); // fn ignores the abort and answers with a failure status
      return 503;
    }, caller.signal);
    await expect(call).rejects.toBe(reason);
    expect(retries).toEqual([]);
    expect(budget.tryRetry).not.toHaveBeenCalled();
  });
});
