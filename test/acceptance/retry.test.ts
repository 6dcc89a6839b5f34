// Contract: "retryWithBackoff(options?)" and "Failure classification" — exercised against dist/.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { PolicyContext, RetryOptions } from '../../src/index.js';
import { seeded } from '../helpers/prng.js';
import { settle } from '../helpers/settle.js';
import { lib } from './dist.js';

const { retryWithBackoff, BrokenCircuitError, IsolatedCircuitError, BulkheadRejectedError } = lib;

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  expect(vi.getTimerCount()).toBe(0);
  vi.useRealTimers();
});

function failing(times = Infinity): ((ctx: PolicyContext) => Promise<string>) & { calls: number } {
  const fn = Object.assign(
    async (): Promise<string> => {
      fn.calls++;
      if (fn.calls <= times) throw new Error(`failure ${fn.calls}`);
      return 'ok';
    },
    { calls: 0 },
  );
  return fn;
}

async function delaysOf(options: RetryOptions, fn = failing()): Promise<number[]> {
  const retry = retryWithBackoff(options);
  const delays: number[] = [];
  retry.on('retry', ({ delay }) => delays.push(delay));
  settle(retry.execute(fn));
  await vi.runAllTimersAsync();
  return delays;
}

describe('retryWithBackoff: the option table', () => {
  it('maxRetries defaults to 3: at most maxRetries + 1 calls of fn', async () => {
    const fn = failing();
    await delaysOf({}, fn);
    expect(fn.calls).toBe(4);
    const five = failing();
    await delaysOf({ maxRetries: 5, initialDelay: 1 }, five);
    expect(five.calls).toBe(6);
  });

  it('maxRetries: Infinity is allowed', async () => {
    const fn = failing(500);
    const call = settle(retryWithBackoff({ maxRetries: Infinity, initialDelay: 1, multiplier: 1 }).execute(fn));
    await vi.runAllTimersAsync();
    expect(call.state()).toEqual({ status: 'fulfilled', value: 'ok' });
    expect(fn.calls).toBe(501);
  });

  it("initialDelay 100, multiplier 2, maxDelay 30 000: delay before retry n is initialDelay * multiplier^(n-1), capped", async () => {
    expect(await delaysOf({ jitter: 'none' })).toEqual([100, 200, 400]);
    expect(await delaysOf({ jitter: 'none', maxRetries: 10, initialDelay: 1_000, multiplier: 3 })).toEqual([
      1_000, 3_000, 9_000, 27_000, 30_000, 30_000, 30_000, 30_000, 30_000, 30_000,
    ]);
    expect(await delaysOf({ jitter: 'none', maxRetries: 4, initialDelay: 10, multiplier: 10, maxDelay: 5_000 })).toEqual([10, 100, 1_000, 5_000]);
  });

  it("jitter defaults to 'full': uniform in [0, d]", async () => {
    const draws = await delaysOf({ maxRetries: 200, initialDelay: 10, maxDelay: 1_000, random: seeded(1) });
    expect(draws.filter((delay, i) => !(delay >= 0 && delay <= Math.min(10 * 2 ** i, 1_000)))).toEqual([]);
    const late = draws.slice(10); // d = 1000 from here on
    expect(Math.min(...late)).toBeLessThan(50);
    expect(Math.max(...late)).toBeGreaterThan(950);
  });

  it("jitter 'equal': uniform in [d/2, d]", async () => {
    const draws = await delaysOf({ jitter: 'equal', maxRetries: 200, initialDelay: 10, maxDelay: 1_000, random: seeded(2) });
    const d = (i: number): number => Math.min(10 * 2 ** i, 1_000);
    expect(draws.filter((delay, i) => !(delay >= d(i) / 2 && delay <= d(i)))).toEqual([]);
    const late = draws.slice(10);
    expect(Math.min(...late)).toBeLessThan(550);
    expect(Math.max(...late)).toBeGreaterThan(950);
  });

  it("jitter 'decorrelated': uniform in [initialDelay, 3 × previous delay], capped", async () => {
    const draws = await delaysOf({ jitter: 'decorrelated', maxRetries: 200, initialDelay: 10, maxDelay: 1_000, random: seeded(3) });
    expect(draws.filter((delay, i) => !(delay >= 10 && delay <= Math.min(3 * (i === 0 ? 10 : draws[i - 1]!), 1_000)))).toEqual([]);
    expect(Math.max(...draws)).toBeGreaterThan(950);
  });

  it('maxDelay caps any single delay, jitter included', async () => {
    for (const jitter of ['full', 'equal', 'decorrelated', 'none'] as const) {
      const draws = await delaysOf({ jitter, maxRetries: 50, initialDelay: 400, maxDelay: 500, random: seeded(4) });
      expect(Math.max(...draws)).toBeLessThanOrEqual(500);
    }
  });

  it('delay: (attempt, outcome) => ms replaces the schedule', async () => {
    const seen: unknown[] = [];
    const draws = await delaysOf({
      delay: (attempt, outcome) => {
        seen.push([attempt, 'error' in outcome]);
        return attempt * 3;
      },
    });
    expect(draws).toEqual([3, 6, 9]);
    expect(seen).toEqual([
      [1, true],
      [2, true],
      [3, true],
    ]);
  });

  it('maxElapsedTime: gives up rather than schedule a retry that would start later than this since the first attempt started', async () => {
    const fn = failing();
    const retry = retryWithBackoff({ jitter: 'none', maxRetries: 100, initialDelay: 100, multiplier: 1, maxElapsedTime: 450 });
    const giveUps: unknown[] = [];
    retry.on('giveUp', (p) => giveUps.push(p));
    const call = settle(retry.execute(fn));
    await vi.runAllTimersAsync();
    expect(fn.calls).toBe(5); // starts at 0, 100, 200, 300, 400; 500 would be too late
    expect(call.state()).toMatchObject({ status: 'rejected', reason: { message: 'failure 5' } });
    expect(giveUps).toMatchObject([{ attempts: 5 }]);
  });

  it("retryAfter: by default a finite, non-negative numeric retryAfter (ms) on the thrown error replaces the computed delay, capped by maxDelay", async () => {
    const hinted = (retryAfter: unknown): (() => Promise<never>) => () => Promise.reject(Object.assign(new Error('429'), { retryAfter }));
    expect(await delaysOf({ maxRetries: 1 }, hinted(2_500) as never)).toEqual([2_500]);
    expect(await delaysOf({ maxRetries: 1, maxDelay: 1_000 }, hinted(2_500) as never)).toEqual([1_000]);
    expect(await delaysOf({ maxRetries: 1, jitter: 'none' }, hinted(-1) as never)).toEqual([100]);
    expect(await delaysOf({ maxRetries: 1, jitter: 'none' }, hinted('2500') as never)).toEqual([100]);
    expect(await delaysOf({ maxRetries: 1, jitter: 'none' }, hinted(Infinity) as never)).toEqual([100]);
  });

  it('retryAfter: (outcome) => ms | undefined: a number replaces the computed delay, still capped; undefined keeps it', async () => {
    let n = 0;
    const draws = await delaysOf({ jitter: 'none', maxDelay: 5_000, retryAfter: () => [700, undefined, 9_999][n++] });
    expect(draws).toEqual([700, 200, 5_000]);
  });
});

describe('retryWithBackoff: which failures are retried', () => {
  it('by default every error except BrokenCircuitError and BulkheadRejectedError (and IsolatedCircuitError)', async () => {
    for (const error of [new BrokenCircuitError(), new IsolatedCircuitError(), new BulkheadRejectedError()]) {
      const fn = vi.fn(() => Promise.reject(error));
      await expect(retryWithBackoff().execute(fn)).rejects.toBe(error);
      expect(fn).toHaveBeenCalledTimes(1);
    }
    for (const error of [new TypeError('fetch failed'), new lib.TimeoutError(), 'a string']) {
      const fn = vi.fn().mockRejectedValueOnce(error).mockResolvedValue('ok');
      const call = settle(retryWithBackoff({ initialDelay: 1 }).execute(fn));
      await vi.runAllTimersAsync();
      expect(call.state()).toEqual({ status: 'fulfilled', value: 'ok' });
    }
  });

  it("never retries the caller's own abort, whatever handle says", async () => {
    const controller = new AbortController();
    const fn = vi.fn(({ signal }: PolicyContext) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))));
    const call = settle(retryWithBackoff({ handle: () => true, initialDelay: 0 }).execute(fn, controller.signal));
    controller.abort('stop');
    await vi.runAllTimersAsync();
    expect(call.state()).toEqual({ status: 'rejected', reason: 'stop' });
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('an error that handle rejects passes straight through', async () => {
    const fatal = new Error('fatal');
    const fn = vi.fn(() => Promise.reject(fatal));
    await expect(retryWithBackoff({ handle: (e) => e !== fatal }).execute(fn)).rejects.toBe(fatal);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('handleResult: none by default; matching values are retried; when retries run out the last result is returned', async () => {
    const plain = vi.fn(() => ({ status: 503 }));
    await expect(retryWithBackoff().execute(plain)).resolves.toEqual({ status: 503 });
    expect(plain).toHaveBeenCalledTimes(1);

    let n = 0;
    const call = settle(retryWithBackoff({ maxRetries: 2, initialDelay: 1, handleResult: (r) => (r as { status: number }).status === 503 }).execute(() => ({ status: 503, n: ++n })));
    await vi.runAllTimersAsync();
    expect(call.state()).toEqual({ status: 'fulfilled', value: { status: 503, n: 3 } });
  });

  it('when retries run out on a thrown error, that last error is rethrown', async () => {
    const call = settle(retryWithBackoff({ maxRetries: 2, initialDelay: 1 }).execute(failing()));
    await vi.runAllTimersAsync();
    expect(call.state()).toMatchObject({ status: 'rejected', reason: { message: 'failure 3' } });
  });
});

describe('retryWithBackoff: abort and events', () => {
  it('aborting the signal during a delay cancels the delay at once', async () => {
    const controller = new AbortController();
    const fn = failing();
    const call = settle(retryWithBackoff({ initialDelay: 10_000, jitter: 'none' }).execute(fn, controller.signal));
    await vi.advanceTimersByTimeAsync(1);
    controller.abort('cancel');
    await Promise.resolve();
    await Promise.resolve();
    expect(call.state()).toEqual({ status: 'rejected', reason: 'cancel' });
    expect(vi.getTimerCount()).toBe(0);
    expect(fn.calls).toBe(1);
  });

  it('retry { attempt, delay, error }, giveUp { attempts, error }, success { attempts }', async () => {
    const retry = retryWithBackoff({ jitter: 'none', initialDelay: 10, maxRetries: 1 });
    const events: unknown[] = [];
    retry.on('retry', (p) => events.push({ retry: p }));
    retry.on('giveUp', (p) => events.push({ giveUp: p }));
    retry.on('success', (p) => events.push({ success: p }));
    settle(retry.execute(failing(1)));
    await vi.runAllTimersAsync();
    settle(retry.execute(failing()));
    await vi.runAllTimersAsync();
    expect(events).toMatchObject([
      { retry: { attempt: 1, delay: 10, error: { message: 'failure 1' } } },
      { success: { attempts: 2 } },
      { retry: { attempt: 1, delay: 10, error: { message: 'failure 1' } } },
      { giveUp: { attempts: 2, error: { message: 'failure 2' } } },
    ]);
  });

  it('retry and giveUp carry value instead of error for a handled result', async () => {
    const retry = retryWithBackoff({ maxRetries: 1, initialDelay: 1, handleResult: () => true });
    const events: Record<string, unknown>[] = [];
    retry.on('retry', (p) => events.push({ ...p }));
    retry.on('giveUp', (p) => events.push({ ...p }));
    settle(retry.execute(() => 'meh'));
    await vi.runAllTimersAsync();
    expect(events).toMatchObject([{ attempt: 1, value: 'meh' }, { attempts: 2, value: 'meh' }]);
    expect(events.some((e) => 'error' in e)).toBe(false);
  });
});

describe('retryWithBackoff: invalid options throw a RangeError or TypeError naming the option, at creation', () => {
  const cases: [Record<string, unknown>, typeof RangeError | typeof TypeError, string][] = [
    [{ maxRetries: -1 }, RangeError, 'maxRetries'],
    [{ maxRetries: Number.NaN }, RangeError, 'maxRetries'],
    [{ maxRetries: '3' }, TypeError, 'maxRetries'],
    [{ initialDelay: -5 }, RangeError, 'initialDelay'],
    [{ initialDelay: 'soon' }, TypeError, 'initialDelay'],
    [{ multiplier: Number.NaN }, RangeError, 'multiplier'],
    [{ maxDelay: -1 }, RangeError, 'maxDelay'],
    [{ maxElapsedTime: -1 }, RangeError, 'maxElapsedTime'],
    [{ jitter: 'wild' }, RangeError, 'jitter'],
    [{ jitter: true }, TypeError, 'jitter'],
    [{ delay: 100 }, TypeError, 'delay'],
    [{ retryAfter: 100 }, TypeError, 'retryAfter'],
    [{ handle: true }, TypeError, 'handle'],
    [{ handleResult: 'yes' }, TypeError, 'handleResult'],
  ];
  for (const [options, kind, name] of cases) {
    it(`${JSON.stringify(options) ?? String(options)} → ${kind.name}`, () => {
      expect(() => retryWithBackoff(options as RetryOptions)).toThrow(kind);
      expect(() => retryWithBackoff(options as RetryOptions)).toThrow(name);
    });
  }

  it('an option set to undefined means its default', async () => {
    const fn = failing();
    await delaysOf({ maxRetries: undefined, jitter: undefined } as unknown as RetryOptions, fn);
    expect(fn.calls).toBe(4);
  });
});
