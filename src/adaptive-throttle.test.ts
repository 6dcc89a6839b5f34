import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AdaptiveThrottle, type AdaptiveThrottleOptions } from './adaptive-throttle.js';
import { ResilienceError, ThrottledError } from './errors.js';
import { seededRandom } from './internal/random.js';
import { wrap } from './policy.js';
import { retryWithBackoff } from './retry.js';
import { withTimeout } from './timeout.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

const down = (): Promise<never> => Promise.reject(new Error('503'));
const ignore = (): void => {};

/** `n` calls that the backend fails. */
async function failures(throttle: AdaptiveThrottle, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await throttle.execute(down).catch(ignore);
}

async function successes(throttle: AdaptiveThrottle, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await throttle.execute(() => 'ok');
}

describe('AdaptiveThrottle', () => {
  it('never rejects, nor draws a random number, while the backend accepts every call', async () => {
    const random = vi.fn(() => 0);
    const throttle = new AdaptiveThrottle({ random });
    await successes(throttle, 1_000);
    expect(random).not.toHaveBeenCalled();
    expect(throttle.stats()).toEqual({ requests: 1_000, accepts: 1_000, rejectionRate: 0 });
  });

  it('rejects with max(0, (requests − k × accepts) / (requests + 1)), from the counts before the call is added', async () => {
    const throttle = new AdaptiveThrottle({ maxRejectionRate: 1, random: () => 0.5 });
    await successes(throttle, 1);
    await failures(throttle, 2); // 3 requests, 1 accept: (3 − 2) / 4 = 0.25, and 0.5 is no rejection
    expect(throttle.stats()).toEqual({ requests: 3, accepts: 1, rejectionRate: 0.25 });
    await failures(throttle, 3); // 6 requests, 1 accept: (6 − 2) / 7 = 0.571…
    expect(throttle.stats().rejectionRate).toBeCloseTo(4 / 7, 12);
    const fn = vi.fn(() => 'ok');
    const rates: number[] = [];
    throttle.on('rejected', ({ rejectionRate }) => rates.push(rejectionRate));
    await expect(throttle.execute(fn)).rejects.toBeInstanceOf(ThrottledError);
    expect(fn).not.toHaveBeenCalled();
    expect(rates).toEqual([4 / 7]);
  });

  it('counts rejected calls as requests', async () => {
    const throttle = new AdaptiveThrottle({ maxRejectionRate: 1, random: () => 0 });
    await failures(throttle, 1); // 1 request, 0 accepts: the next is rejected with 1 / 2
    const fn = vi.fn(() => 'ok');
    for (let i = 0; i < 5; i++) await expect(throttle.execute(fn)).rejects.toThrow(ThrottledError);
    expect(fn).not.toHaveBeenCalled();
    expect(throttle.stats()).toEqual({ requests: 6, accepts: 0, rejectionRate: 6 / 7 });
  });

  it('rejects at most maxRejectionRate of calls (0.9 by default), so some always reach the backend', async () => {
    const throttle = new AdaptiveThrottle({ random: () => 0.9 });
    await failures(throttle, 100);
    expect(throttle.stats().rejectionRate).toBe(0.9);
    await expect(throttle.execute(() => 'ok')).resolves.toBe('ok'); // 0.9 is not below 0.9
    const never = new AdaptiveThrottle({ maxRejectionRate: 0, random: () => 0 });
    await failures(never, 100);
    await expect(never.execute(() => 'ok')).resolves.toBe('ok');
  });

  it('throttles later with a higher k', async () => {
    const k3 = new AdaptiveThrottle({ k: 3 });
    await successes(k3, 1);
    await failures(k3, 2);
    expect(k3.stats().rejectionRate).toBe(0); // 3 − 3 × 1
    await failures(k3, 1);
    expect(k3.stats().rejectionRate).toBe(1 / 5);
  });

  it('reads Math.random at call time when no random is given', async () => {
    const throttle = new AdaptiveThrottle();
    await failures(throttle, 10);
    const random = vi.spyOn(Math, 'random').mockReturnValue(0);
    await expect(throttle.execute(() => 'ok')).rejects.toThrow(ThrottledError);
    random.mockReturnValue(0.95);
    await expect(throttle.execute(() => 'ok')).resolves.toBe('ok');
    expect(random).toHaveBeenCalledTimes(2);
  });

  it('the same seed gives the same rejections', async () => {
    const pattern = async (): Promise<boolean[]> => {
      const throttle = new AdaptiveThrottle({ random: seededRandom(7) });
      const admitted: boolean[] = [];
      for (let i = 0; i < 50; i++) admitted.push(await throttle.execute(down).then(() => true, (e: unknown) => !(e instanceof ThrottledError)));
      return admitted;
    };
    const first = await pattern();
    expect(first).toContain(false);
    expect(await pattern()).toEqual(first);
  });

  describe('what counts as an accept', () => {
    it('an error handle does not count: the backend answered', async () => {
      const throttle = new AdaptiveThrottle({ handle: (error) => (error as Error).message === '503', random: () => 0.99 });
      await throttle.execute(() => Promise.reject(new Error('404'))).catch(ignore);
      await throttle.execute(down).catch(ignore);
      expect(throttle.stats()).toMatchObject({ requests: 2, accepts: 1 });
    });

    it('a value handleResult counts is no accept; other values are', async () => {
      const throttle = new AdaptiveThrottle({ handleResult: (value) => value === 503, random: () => 0.99 });
      await throttle.execute(() => 503);
      await throttle.execute(() => 200);
      expect(throttle.stats()).toMatchObject({ requests: 2, accepts: 1 });
    });

    it("the caller's own abort is an accept; an enclosing timeout is not", async () => {
      const throttle = new AdaptiveThrottle();
      const caller = new AbortController();
      const hang = ({ signal }: { signal: AbortSignal }): Promise<never> => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
      const called = throttle.execute(hang, caller.signal);
      caller.abort(new Error('user left'));
      await expect(called).rejects.toThrow('user left');
      expect(throttle.stats()).toMatchObject({ requests: 1, accepts: 1 });
      const timed = wrap(withTimeout(100), throttle).execute(hang);
      const settled = expect(timed).rejects.toThrow('timed out');
      await vi.advanceTimersByTimeAsync(100);
      await settled;
      expect(throttle.stats()).toMatchObject({ requests: 2, accepts: 1 });
    });

    it('a sync throw of fn is a failure like a rejection', async () => {
      const throttle = new AdaptiveThrottle();
      await expect(throttle.execute(() => { throw new Error('sync'); })).rejects.toThrow('sync');
      expect(throttle.stats()).toMatchObject({ requests: 1, accepts: 0 });
    });

    it('a handle or handleResult that throws fails the call with its error and is no accept', async () => {
      const bad = new Error('predicate bug');
      const throttle = new AdaptiveThrottle({ handle: () => { throw bad; }, handleResult: () => { throw bad; }, random: () => 0.99 });
      await expect(throttle.execute(down)).rejects.toBe(bad);
      await expect(throttle.execute(() => 'ok')).rejects.toBe(bad);
      expect(throttle.stats()).toMatchObject({ requests: 2, accepts: 0 });
    });

    it('a random that throws rejects the call with its error; execute never throws', async () => {
      const throttle = new AdaptiveThrottle({ random: () => { throw new Error('rng'); } });
      await failures(throttle, 3);
      await expect(throttle.execute(() => 'ok')).rejects.toThrow('rng');
    });
  });

  describe('the sliding window', () => {
    it('forgets requests and accepts once they slide out of it, a tenth at a time', async () => {
      const throttle = new AdaptiveThrottle({ window: 1_000, random: () => 0.99 });
      await failures(throttle, 5);
      vi.advanceTimersByTime(500);
      await successes(throttle, 2);
      expect(throttle.stats()).toMatchObject({ requests: 7, accepts: 2 });
      vi.advanceTimersByTime(550); // the first five are 1 050 ms old: gone
      expect(throttle.stats()).toEqual({ requests: 2, accepts: 2, rejectionRate: 0 });
      vi.advanceTimersByTime(500);
      expect(throttle.stats()).toEqual({ requests: 0, accepts: 0, rejectionRate: 0 });
    });

    it('stops throttling once the failures are a window old, and starts again from nothing', async () => {
      const throttle = new AdaptiveThrottle({ random: () => 0 });
      await failures(throttle, 100);
      await expect(throttle.execute(() => 'ok')).rejects.toThrow(ThrottledError);
      vi.advanceTimersByTime(60_000);
      await expect(throttle.execute(() => 'ok')).resolves.toBe('ok');
      expect(throttle.stats()).toMatchObject({ requests: 1, accepts: 1 });
    });

    it('comes back from a long idle time, or a clock that went back, with empty counts', async () => {
      const throttle = new AdaptiveThrottle({ window: 1_000 });
      await failures(throttle, 10);
      vi.advanceTimersByTime(1e9);
      expect(throttle.stats()).toMatchObject({ requests: 0, accepts: 0 });
      await failures(throttle, 3);
      vi.setSystemTime(0); // performance.now() is faked too, and goes back
      vi.useRealTimers();
      expect(throttle.stats()).toMatchObject({ requests: 0, accepts: 0 });
    });
  });

  describe('options and events', () => {
    it('has the documented defaults', () => {
      const throttle = new AdaptiveThrottle();
      expect([throttle.k, throttle.window, throttle.maxRejectionRate]).toEqual([2, 60_000, 0.9]);
      expect(new AdaptiveThrottle({ k: undefined, window: undefined }).k).toBe(2);
    });

    it.each<[string, unknown, ErrorConstructor, string]>([
      ['k', 0.5, RangeError, 'AdaptiveThrottle: option "k" must be a number in [1, Infinity), got 0.5'],
      ['k', '2', TypeError, "AdaptiveThrottle: option \"k\" must be a number, got '2'"],
      ['window', 0, RangeError, 'AdaptiveThrottle: option "window" must be a number in (0, Infinity), got 0'],
      ['window', Infinity, RangeError, 'AdaptiveThrottle: option "window" must be a number in (0, Infinity), got Infinity'],
      ['maxRejectionRate', 1.5, RangeError, 'AdaptiveThrottle: option "maxRejectionRate" must be a number in [0, 1], got 1.5'],
      ['maxRejectionRate', NaN, RangeError, 'AdaptiveThrottle: option "maxRejectionRate" must be a number in [0, 1], got NaN'],
      ['random', 0.5, TypeError, 'AdaptiveThrottle: option "random" must be a function, got 0.5'],
      ['handle', true, TypeError, 'AdaptiveThrottle: option "handle" must be a function, got true'],
      ['handleResult', {}, TypeError, 'AdaptiveThrottle: option "handleResult" must be a function, got an object'],
    ])('refuses %s: %s at creation, naming the option', (name, value, kind, message) => {
      expect(() => new AdaptiveThrottle({ [name]: value } as AdaptiveThrottleOptions)).toThrow(new kind(message));
    });

    it('refuses a misspelt option and event name, naming the nearest', () => {
      expect(() => new AdaptiveThrottle({ maxRejection: 0.5 } as AdaptiveThrottleOptions)).toThrow(
        new TypeError("AdaptiveThrottle: unknown option 'maxRejection', did you mean 'maxRejectionRate'?"),
      );
      expect(() => new AdaptiveThrottle().on('reject' as 'rejected', ignore)).toThrow(new TypeError("on: unknown event 'reject', did you mean 'rejected'?"));
    });

    it('a listener that throws does not change the rejection', async () => {
      const throttle = new AdaptiveThrottle({ random: () => 0 });
      throttle.on('rejected', () => {
        throw new Error('listener bug');
      });
      await failures(throttle, 3);
      await expect(throttle.execute(() => 'ok')).rejects.toThrow(ThrottledError);
    });
  });

  it('ThrottledError is a ResilienceError that says the client throttles itself, with the rate and no stack frames of ours', async () => {
    const throttle = new AdaptiveThrottle({ random: () => 0 });
    await failures(throttle, 9);
    const error = (await throttle.execute(() => 'ok').catch((e: unknown) => e)) as ThrottledError;
    expect(error).toBeInstanceOf(ResilienceError);
    expect(error.name).toBe('ThrottledError');
    expect(error.message).toMatch(/client is throttling itself/i);
    expect(error.rejectionRate).toBe(0.9);
    expect(error.stack?.split('\n')).toHaveLength(1);
    expect(Error.stackTraceLimit).toBe(10); // put back
  });
});

describe("retryWithBackoff's default handle and ThrottledError", () => {
  it('does not retry a ThrottledError, nor one of that name from another copy of the package', async () => {
    for (const error of [new ThrottledError(), Object.assign(new Error('copy'), { name: 'ThrottledError' })]) {
      const fn = vi.fn(() => Promise.reject(error));
      const call = retryWithBackoff().execute(fn).catch((e: unknown) => e);
      await vi.runAllTimersAsync();
      expect(await call).toBe(error);
      expect(fn).toHaveBeenCalledTimes(1);
    }
  });

  it('retries the backend failures a throttle inside it let through, and stops at its rejection', async () => {
    const throttle = new AdaptiveThrottle({ maxRejectionRate: 1, random: () => 0 });
    await failures(throttle, 1);
    const fn = vi.fn(down);
    const retry = retryWithBackoff({ initialDelay: 10, jitter: 'none' });
    const retried = vi.fn();
    retry.on('retry', retried);
    const call = wrap(retry, throttle).execute(fn).catch((e: unknown) => e);
    await vi.runAllTimersAsync();
    expect(await call).toBeInstanceOf(ThrottledError);
    expect(fn).toHaveBeenCalledTimes(0); // 1 request, 0 accepts: 1 / 2 > 0, rejected at once
    expect(retried).not.toHaveBeenCalled();
  });
});

describe('steady state (Google SRE, "Handling Overload")', () => {
  /**
   * Open-loop clients send 100 calls a second through `retryWithBackoff`
   * (3 retries, full jitter) around the throttle, if any. The backend serves the
   * first 10 calls of each second, each in 20 ms, and fails the rest at once:
   * it accepts 10 % of the load. Counted over the 2 minutes after 2 windows (the
   * default 60 s) of settling.
   */
  async function simulate(throttle: AdaptiveThrottle | undefined) {
    const retry = retryWithBackoff({ maxRetries: 3, random: seededRandom(2) });
    const pipeline = throttle === undefined ? retry : wrap(retry, throttle);
    let throttledRetries = 0;
    retry.on('retry', ({ error }) => {
      if (error instanceof ThrottledError) throttledRetries++;
    });
    let second = 0;
    let servedThisSecond = 0;
    let received = 0;
    let accepted = 0;
    let counting = false;
    const backend = (): Promise<string> => {
      const now = Math.floor(performance.now() / 1_000);
      if (now !== second) [second, servedThisSecond] = [now, 0];
      if (counting) received++;
      if (servedThisSecond >= 10) return Promise.reject(new Error('503 overloaded'));
      servedThisSecond++;
      if (counting) accepted++;
      return new Promise((resolve) => setTimeout(resolve, 20, 'ok'));
    };
    let throttled = 0;
    const tick = async (seconds: number): Promise<void> => {
      for (let i = 0; i < seconds * 100; i++) {
        void pipeline.execute(backend).catch((error: unknown) => {
          if (counting && error instanceof ThrottledError) throttled++;
        });
        await vi.advanceTimersByTimeAsync(10);
      }
    };
    await tick(120);
    counting = true;
    await tick(120);
    counting = false;
    await vi.runAllTimersAsync();
    return { received, accepted, throttled, throttledRetries };
  }

  it.each([2, 3])('with k = %d, the backend receives about k × what it accepts (within 15 %), retries included', async (k) => {
    const { received, accepted, throttled, throttledRetries } = await simulate(new AdaptiveThrottle({ k, random: seededRandom(1) }));
    expect(accepted).toBeGreaterThan(1_150); // the backend stayed busy: 10 a second
    expect(received / accepted).toBeGreaterThan(k * 0.85);
    expect(received / accepted).toBeLessThan(k * 1.15);
    expect(throttled).toBeGreaterThan(0);
    expect(throttledRetries).toBe(0); // the retry never retried a ThrottledError
  });

  it('without the throttle, the backend receives every call and its retries', async () => {
    const { received, accepted } = await simulate(undefined);
    expect(accepted).toBeGreaterThan(1_150);
    expect(received / accepted).toBeGreaterThan(30); // ~12 000 calls, most retried 3 times
  });
});
