import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AdaptiveLimiter, type AdaptiveLimitAlgorithm, type AdaptiveLimiterOptions } from './adaptive-limiter.js';
import { BulkheadRejectedError } from './errors.js';

const ALGORITHMS: readonly AdaptiveLimitAlgorithm[] = ['gradient', 'vegas', 'aimd'];

function deferred<T = unknown>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: unknown) => void } {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A downstream that serves `capacity` calls at once in `base` ms and queues
 * the rest FIFO; `workers` callers in a closed loop keep calling it through
 * the limiter for `duration` ms (a rejected caller waits 1 ms).
 */
async function saturate(limiter: AdaptiveLimiter, workers: number, duration: number, capacity = Infinity, base = 10): Promise<void> {
  let busy = 0;
  const queue: (() => void)[] = [];
  const serve = (): Promise<void> =>
    new Promise<void>((resolve) => {
      const begin = (): void => {
        busy++;
        setTimeout(() => {
          busy--;
          queue.shift()?.();
          resolve();
        }, base);
      };
      if (busy < capacity) begin();
      else queue.push(begin);
    });
  const end = performance.now() + duration;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) await limiter.execute(serve).catch(() => sleep(1));
  };
  const done = Promise.all(Array.from({ length: workers }, worker));
  await vi.advanceTimersByTimeAsync(duration + 1_000);
  await done;
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  expect(vi.getTimerCount()).toBe(0);
  vi.useRealTimers();
});

describe('AdaptiveLimiter options', () => {
  it('starts at 20 within [1, 1000] with the gradient algorithm', () => {
    const limiter = new AdaptiveLimiter();
    expect(limiter.limit).toBe(20);
    expect(limiter.maxQueue).toBe(0);
    expect(limiter.queueTimeout).toBe(Infinity);
  });

  it('starts at the nearer bound when the default 20 lies outside the ones given', () => {
    expect(new AdaptiveLimiter({ maxLimit: 8 }).limit).toBe(8);
    expect(new AdaptiveLimiter({ minLimit: 50 }).limit).toBe(50);
  });

  it('refuses minLimit above maxLimit, an initialLimit outside them, and an unknown algorithm, naming the option', () => {
    expect(() => new AdaptiveLimiter({ minLimit: 10, maxLimit: 5 })).toThrow(new RangeError('AdaptiveLimiter: option "minLimit" must be at most maxLimit (5), got 10'));
    expect(() => new AdaptiveLimiter({ initialLimit: 50, maxLimit: 40 })).toThrow(
      new RangeError('AdaptiveLimiter: option "initialLimit" must be in [minLimit, maxLimit] = [1, 40], got 50'),
    );
    expect(() => new AdaptiveLimiter({ initialLimit: 2, minLimit: 3 })).toThrow(/option "initialLimit"/);
    expect(() => new AdaptiveLimiter({ algorithm: 'reno' as never })).toThrow(
      new RangeError(`AdaptiveLimiter: option "algorithm" must be one of 'gradient', 'vegas', 'aimd', got 'reno'`),
    );
    expect(() => new AdaptiveLimiter({ algorithm: 3 as never })).toThrow(TypeError);
  });

  it('refuses limits that are no integers >= 1, and bad queue options and predicates', () => {
    const bad: AdaptiveLimiterOptions[] = [
      { initialLimit: 0 },
      { initialLimit: 2.5 },
      { minLimit: 0 },
      { maxLimit: NaN },
      { maxQueue: -1 },
      { queueTimeout: -5 },
      { handle: 'all' as never },
      { handleResult: 1 as never },
    ];
    for (const options of bad) expect(() => new AdaptiveLimiter(options), JSON.stringify(options)).toThrow(new RegExp(`option "${Object.keys(options)[0]}"`));
    expect(new AdaptiveLimiter({ maxLimit: Infinity, initialLimit: 5000 }).limit).toBe(5000);
  });

  it('refuses an unknown key, suggesting the nearest', () => {
    expect(() => new AdaptiveLimiter({ maxLimits: 5 } as never)).toThrow(new TypeError("AdaptiveLimiter: unknown option 'maxLimits', did you mean 'maxLimit'?"));
  });
});

describe('AdaptiveLimiter admission', () => {
  it('runs at most limit calls at once and rejects the next at once with BulkheadRejectedError, reason full', async () => {
    const limiter = new AdaptiveLimiter({ initialLimit: 2 });
    const rejected: unknown[] = [];
    limiter.on('rejected', (payload) => rejected.push(payload));
    const gates = [deferred(), deferred()];
    const running = gates.map((gate) => limiter.execute(() => gate.promise));
    expect(limiter.active).toBe(2);
    const fn = vi.fn();
    const error = await limiter.execute(fn).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BulkheadRejectedError);
    expect((error as BulkheadRejectedError).reason).toBe('full');
    expect(fn).not.toHaveBeenCalled();
    expect(rejected).toEqual([{ reason: 'full' }]);
    gates.forEach((gate, i) => gate.resolve(i));
    expect(await Promise.all(running)).toEqual([0, 1]);
    expect(limiter.active).toBe(0);
  });

  it('queues up to maxQueue calls in FIFO order, and times them out with reason queue-timeout', async () => {
    const limiter = new AdaptiveLimiter({ initialLimit: 1, maxQueue: 2, queueTimeout: 100 });
    const rejected: unknown[] = [];
    limiter.on('rejected', (payload) => rejected.push(payload));
    const gate = deferred();
    const order: number[] = [];
    const first = limiter.execute(() => gate.promise);
    const second = limiter.execute(() => order.push(2));
    const third = limiter.execute(() => order.push(3));
    expect(limiter.queued).toBe(2);
    await expect(limiter.execute(() => 4)).rejects.toMatchObject({ reason: 'full' });
    gate.resolve('first');
    expect(await Promise.all([first, second, third])).toEqual(['first', 1, 2]);
    expect(order).toEqual([2, 3]);

    const hold = deferred();
    const holding = limiter.execute(() => hold.promise);
    const late = limiter.execute(() => 'late').catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(100);
    expect(await late).toMatchObject({ name: 'BulkheadRejectedError', reason: 'queue-timeout' });
    expect(rejected).toEqual([{ reason: 'full' }, { reason: 'queue-timeout' }]);
    expect(limiter.queued).toBe(0);
    hold.resolve(0);
    await holding;
  });

  it('lets a queued call whose signal aborts leave the queue at once with the abort reason', async () => {
    const limiter = new AdaptiveLimiter({ initialLimit: 1, maxQueue: 5 });
    const gate = deferred();
    const first = limiter.execute(() => gate.promise);
    const controller = new AbortController();
    const fn = vi.fn();
    const queued = limiter.execute(fn, controller.signal).catch((e: unknown) => e);
    controller.abort(new Error('caller gave up'));
    expect(await queued).toEqual(new Error('caller gave up'));
    expect(limiter.queued).toBe(0);
    gate.resolve(1);
    await first;
    expect(fn).not.toHaveBeenCalled();
  });
});

describe('AdaptiveLimiter limit', { timeout: 20_000 }, () => {
  for (const algorithm of ALGORITHMS) {
    it(`${algorithm}: an idle service does not drift toward maxLimit`, async () => {
      const limiter = new AdaptiveLimiter({ algorithm });
      await saturate(limiter, 2, 10_000); // 2 callers, limit 20: the limit never holds anyone back
      expect(limiter.limit).toBe(20);
    });

    it(`${algorithm}: grows while it is the bottleneck and latency stays flat`, async () => {
      const limiter = new AdaptiveLimiter({ algorithm, maxLimit: 200 });
      await saturate(limiter, 60, 1_000);
      expect(limiter.limit).toBeGreaterThan(40);
    });
  }

  for (const algorithm of ['gradient', 'vegas'] as const) {
    it(`${algorithm}: settles near the capacity of a downstream that queues, instead of growing`, async () => {
      // Started below the downstream's capacity, as the docs advise: the first latency it learns is the unloaded one.
      const limiter = new AdaptiveLimiter({ algorithm, initialLimit: 5 });
      const seen: number[] = [];
      limiter.on('limitChange', ({ to }) => seen.push(to));
      await saturate(limiter, 60, 3_000, 10); // capacity 10 at once: beyond it, calls queue downstream
      expect(Math.max(...seen)).toBeGreaterThan(10); // it did grow past the capacity, and came back
      expect(limiter.limit).toBeGreaterThanOrEqual(8);
      expect(limiter.limit).toBeLessThanOrEqual(20);
      expect(Math.max(...seen.slice(-20))).toBeLessThanOrEqual(22);
    });
  }

  it('gradient: one slow call moves nothing', async () => {
    const run = async (slowAt: number): Promise<number[]> => {
      const limiter = new AdaptiveLimiter({ initialLimit: 4, maxLimit: 4 });
      const limits: number[] = [];
      limiter.on('limitChange', ({ to }) => limits.push(to));
      // 4 callers keep the limit in use; every call takes 10 ms, but the call number `slowAt` takes 500 ms.
      let n = 0;
      const end = performance.now() + 1_000;
      const worker = async (): Promise<void> => {
        while (performance.now() < end) await limiter.execute(() => sleep(++n === slowAt ? 500 : 10)).catch(() => sleep(1));
      };
      const done = Promise.all([worker(), worker(), worker(), worker()]);
      await vi.advanceTimersByTimeAsync(2_000);
      await done;
      return limits;
    };
    expect(await run(-1)).toEqual([]);
    expect(await run(55)).toEqual([]);
  });

  it('shrinks on a handled failure (aimd: × 0.9, once per round of limit calls), not on the caller’s own abort nor on errors handle declines', async () => {
    const limiter = new AdaptiveLimiter({ algorithm: 'aimd', handle: (error) => (error as Error).message !== 'not mine' });
    const changes: unknown[] = [];
    limiter.on('limitChange', (change) => changes.push(change));
    const fail = (message: string): Promise<unknown> => limiter.execute(() => Promise.reject(new Error(message))).catch(() => {});
    await fail('503');
    expect(limiter.limit).toBe(18);
    await fail('not mine');
    const controller = new AbortController();
    await limiter
      .execute((ctx) => {
        controller.abort(new Error('caller'));
        return Promise.reject(ctx.signal.reason);
      }, controller.signal)
      .catch(() => {});
    expect(limiter.limit).toBe(18);
    // Failures of the same round are the same overload: 17 more leave the limit where it is; the 18th cuts it again.
    for (let i = 0; i < 17; i++) await fail('timeout');
    expect(limiter.limit).toBe(18);
    await fail('timeout');
    expect(changes).toEqual([
      { from: 20, to: 18 },
      { from: 18, to: 16 },
    ]);
  });

  for (const algorithm of ['gradient', 'vegas'] as const) {
    it(`${algorithm}: shrinks on a handled failure too`, async () => {
      const limiter = new AdaptiveLimiter({ algorithm });
      await limiter.execute(() => Promise.reject(new Error('503'))).catch(() => {});
      expect(limiter.limit).toBe(18);
    });
  }

  it('counts a result that handleResult picks as a drop', async () => {
    const limiter = new AdaptiveLimiter({ handleResult: (value) => value === 503 });
    expect(await limiter.execute(() => 503)).toBe(503);
    expect(limiter.limit).toBe(18);
    expect(await limiter.execute(() => 200)).toBe(200);
    expect(limiter.limit).toBe(18);
  });

  it('a handle that throws rejects the call with its error and frees the slot', async () => {
    const limiter = new AdaptiveLimiter({ initialLimit: 1, handle: () => { throw new Error('bad predicate'); } });
    await expect(limiter.execute(() => Promise.reject(new Error('x')))).rejects.toThrow('bad predicate');
    expect(limiter.active).toBe(0);
    expect(await limiter.execute(() => 1)).toBe(1);
  });

  it('does not recall running calls when the limit falls, and admits none until active is below the new limit', async () => {
    const limiter = new AdaptiveLimiter({ algorithm: 'aimd', initialLimit: 10 });
    const gates = Array.from({ length: 10 }, () => deferred());
    const calls = gates.map((gate) => limiter.execute(() => gate.promise).catch((e: unknown) => e));
    gates[0]!.reject(new Error('503'));
    await flush();
    expect(limiter.limit).toBe(9);
    expect(limiter.active).toBe(9);
    await expect(limiter.execute(() => 'new')).rejects.toBeInstanceOf(BulkheadRejectedError);
    gates[1]!.resolve(1);
    await flush();
    expect(limiter.active).toBe(8);
    expect(await limiter.execute(() => 'new')).toBe('new');
    for (const gate of gates.slice(2)) gate.resolve(2);
    await Promise.all(calls);
    expect(limiter.active).toBe(0);
  });

  it('emits admitted { waited } when a call gets its slot: 0 at once, the queue wait when the limit frees one, with active counting it', async () => {
    const limiter = new AdaptiveLimiter({ algorithm: 'aimd', initialLimit: 1, maxQueue: 2 });
    const seen: unknown[] = [];
    limiter.on('admitted', (payload) => seen.push([payload, limiter.active, limiter.queued]));
    const gate = deferred();
    const first = limiter.execute(() => gate.promise);
    const second = limiter.execute(() => 'second');
    expect(seen).toEqual([[{ waited: 0 }, 1, 0]]);
    await vi.advanceTimersByTimeAsync(120);
    gate.resolve('first');
    expect(await Promise.all([first, second])).toEqual(['first', 'second']);
    expect(seen).toEqual([
      [{ waited: 0 }, 1, 0],
      [{ waited: 120 }, 1, 0],
    ]);
    await expect(limiter.execute(() => 'third')).resolves.toBe('third');
    expect(seen).toHaveLength(3);
  });

  it('starts queued calls when the limit grows', async () => {
    const limiter = new AdaptiveLimiter({ algorithm: 'aimd', initialLimit: 1, maxQueue: 10 });
    const gate = deferred();
    const first = limiter.execute(() => gate.promise);
    const b = deferred();
    const queued = [limiter.execute(() => 'a'), limiter.execute(() => b.promise)];
    expect(limiter.queued).toBe(2);
    gate.resolve(0); // a success with the limit in use: 1 + 1/1 = 2, so both waiters start at once
    await flush();
    expect(limiter.limit).toBe(2);
    expect(limiter.queued).toBe(0);
    b.resolve('b');
    expect(await Promise.all([first, ...queued])).toEqual([0, 'a', 'b']);
  });
});
