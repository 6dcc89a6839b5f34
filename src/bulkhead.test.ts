import { getEventListeners } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Bulkhead, type BulkheadOptions } from './bulkhead.js';
import { BulkheadRejectedError, TimeoutError } from './errors.js';
import { wrap } from './policy.js';
import { withTimeout } from './timeout.js';

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

function deferred<T = unknown>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every pending promise reaction run. */
async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('Bulkhead', () => {
  it('runs at most maxConcurrent calls at once and rejects the next with reason "full" without calling fn', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 2 });
    const gates = [deferred(), deferred()];
    const rejected: unknown[] = [];
    bulkhead.on('rejected', (payload) => rejected.push(payload));
    const running = gates.map((gate) => bulkhead.execute(() => gate.promise));
    expect(bulkhead.active).toBe(2);

    const fn = vi.fn();
    const error = await rejection(bulkhead.execute(fn));
    expect(error).toBeInstanceOf(BulkheadRejectedError);
    expect((error as BulkheadRejectedError).reason).toBe('full');
    expect(fn).not.toHaveBeenCalled();
    expect(rejected).toEqual([{ reason: 'full' }]);

    gates[0]!.resolve('a');
    gates[1]!.resolve('b');
    expect(await Promise.all(running)).toEqual(['a', 'b']);
    expect(bulkhead.active).toBe(0);
  });

  it('returns plain values and passes errors through', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1 });
    expect(await bulkhead.execute(() => 42)).toBe(42);
    const boom = new Error('boom');
    expect(await rejection(bulkhead.execute(() => Promise.reject(boom)))).toBe(boom);
    expect(bulkhead.active).toBe(0);
  });

  it('queues up to maxQueue calls and runs them in FIFO order as slots free up', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 2, maxQueue: 3 });
    const started: number[] = [];
    const gates = Array.from({ length: 5 }, () => deferred());
    const calls = gates.map((gate, i) =>
      bulkhead.execute(() => {
        started.push(i);
        return gate.promise.then(() => i);
      }),
    );
    expect(started).toEqual([0, 1]);
    expect([bulkhead.active, bulkhead.queued]).toEqual([2, 3]);
    expect(((await rejection(bulkhead.execute(() => 5))) as BulkheadRejectedError).reason).toBe('full');

    gates[1]!.resolve(undefined);
    await flush();
    expect(started).toEqual([0, 1, 2]);
    expect([bulkhead.active, bulkhead.queued]).toEqual([2, 2]);
    gates[0]!.resolve(undefined);
    gates[2]!.resolve(undefined);
    await flush();
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect([bulkhead.active, bulkhead.queued]).toEqual([2, 0]);
    gates[3]!.resolve(undefined);
    gates[4]!.resolve(undefined);
    expect(await Promise.all(calls)).toEqual([0, 1, 2, 3, 4]);
    expect([bulkhead.active, bulkhead.queued]).toEqual([0, 0]);
  });

  it('hands a freed slot straight to the oldest waiter, so a newcomer cannot jump the queue', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 10 });
    const started: string[] = [];
    const first = deferred();
    let newcomer: Promise<unknown> | undefined;
    const a = bulkhead.execute(() => {
      started.push('a');
      return first.promise;
    });
    // The newcomer arrives the moment A's caller learns A is done: the slot is already B's.
    void a.then(() => {
      expect([bulkhead.active, bulkhead.queued]).toEqual([1, 0]);
      newcomer = bulkhead.execute(() => started.push('c'));
    });
    const second = deferred();
    const b = bulkhead.execute(() => {
      started.push('b');
      return second.promise;
    });
    first.resolve(undefined);
    await flush();
    expect(started).toEqual(['a', 'b']);
    expect([bulkhead.active, bulkhead.queued]).toEqual([1, 1]);
    second.resolve(undefined);
    await b;
    await newcomer;
    expect(started).toEqual(['a', 'b', 'c']);
  });

  it('frees the slot after fn rejects, throws synchronously or returns a plain value', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 3 });
    const order: string[] = [];
    const gate = deferred();
    const first = bulkhead.execute(() => gate.promise);
    const syncThrow = bulkhead.execute(() => {
      order.push('sync throw');
      throw new Error('sync');
    });
    const asyncReject = bulkhead.execute(async () => {
      order.push('async reject');
      throw new Error('async');
    });
    const plain = bulkhead.execute(() => {
      order.push('plain');
      return 'value';
    });
    gate.reject(new Error('first'));
    expect(((await rejection(first)) as Error).message).toBe('first');
    expect(((await rejection(syncThrow)) as Error).message).toBe('sync');
    expect(((await rejection(asyncReject)) as Error).message).toBe('async');
    expect(await plain).toBe('value');
    expect(order).toEqual(['sync throw', 'async reject', 'plain']);
    expect([bulkhead.active, bulkhead.queued]).toEqual([0, 0]);
    // Every slot came back: maxConcurrent calls run at once again.
    expect(await bulkhead.execute(() => 'again')).toBe('again');
  });

  it('lets a queued call whose signal aborts leave at once with the abort reason, freeing its place', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 1 });
    const gate = deferred();
    const running = bulkhead.execute(() => gate.promise);
    const controller = new AbortController();
    const fn = vi.fn(() => 'never');
    const queued = bulkhead.execute(fn, controller.signal);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    expect(bulkhead.queued).toBe(1);

    const reason = new Error('caller gave up');
    controller.abort(reason);
    expect(bulkhead.queued).toBe(0);
    expect(await rejection(queued)).toBe(reason);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);

    // Its place is free for another caller, and fn of the aborted call never runs.
    const next = bulkhead.execute(() => 'next');
    expect(bulkhead.queued).toBe(1);
    gate.resolve('first');
    expect(await running).toBe('first');
    expect(await next).toBe('next');
    expect(fn).not.toHaveBeenCalled();
  });

  it('stops listening to the signal once a queued call gets its slot', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 1 });
    const gate = deferred();
    const controller = new AbortController();
    const running = bulkhead.execute(() => gate.promise, controller.signal);
    // A call that gets a slot at once never touches the signal.
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    const second = deferred();
    const queued = bulkhead.execute(() => second.promise, controller.signal);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    gate.resolve(1);
    await running;
    await flush();
    expect(bulkhead.active).toBe(1);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    second.resolve(2);
    expect(await queued).toBe(2);
  });

  it('rejects with the signal reason and calls nothing when the signal is already aborted', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1 });
    const fn = vi.fn();
    const reason = new Error('already');
    expect(await rejection(bulkhead.execute(fn, AbortSignal.abort(reason)))).toBe(reason);
    expect(fn).not.toHaveBeenCalled();
    expect(bulkhead.active).toBe(0);
  });

  it('rejects a call that waits queueTimeout ms with reason "queue-timeout", and frees its place', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 1, queueTimeout: 100 });
    const reasons: string[] = [];
    bulkhead.on('rejected', ({ reason }) => reasons.push(reason));
    const gate = deferred();
    const running = bulkhead.execute(() => gate.promise);
    const controller = new AbortController();
    const queued = rejection(bulkhead.execute(() => 'late', controller.signal));

    await vi.advanceTimersByTimeAsync(99);
    expect(bulkhead.queued).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    const error = (await queued) as BulkheadRejectedError;
    expect(error).toBeInstanceOf(BulkheadRejectedError);
    expect(error.reason).toBe('queue-timeout');
    expect(reasons).toEqual(['queue-timeout']);
    expect([bulkhead.active, bulkhead.queued]).toEqual([1, 0]);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    gate.resolve('done');
    expect(await running).toBe('done');
  });

  it('leaves no timer behind when a queued call gets its slot or aborts before queueTimeout', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 2, queueTimeout: 1_000 });
    const gate = deferred();
    const running = bulkhead.execute(() => gate.promise);
    const controller = new AbortController();
    const aborted = rejection(bulkhead.execute(() => 'x', controller.signal));
    const served = bulkhead.execute(() => 'served');
    expect(vi.getTimerCount()).toBe(2);
    controller.abort();
    await aborted;
    expect(vi.getTimerCount()).toBe(1);
    gate.resolve(undefined);
    await running;
    expect(await served).toBe('served');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('takes any number of waiters with maxQueue: Infinity', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: Infinity });
    const gate = deferred();
    const first = bulkhead.execute(() => gate.promise);
    const rest = Array.from({ length: 1_000 }, (_, i) => bulkhead.execute(() => i));
    expect(bulkhead.queued).toBe(1_000);
    gate.resolve(-1);
    await first;
    const values = await Promise.all(rest);
    expect(values[999]).toBe(999);
    expect(bulkhead.queued).toBe(0);
  });

  it('leaves the queue when an enclosing timeout gives up on a queued call', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 1 });
    const gate = deferred();
    const running = bulkhead.execute(() => gate.promise);
    const pipeline = wrap(withTimeout(50), bulkhead);
    const fn = vi.fn();
    const timedOut = rejection(pipeline.execute(fn));
    expect(bulkhead.queued).toBe(1);
    await vi.advanceTimersByTimeAsync(50);
    expect(await timedOut).toBeInstanceOf(TimeoutError);
    expect(bulkhead.queued).toBe(0);
    gate.resolve('ok');
    expect(await running).toBe('ok');
    expect(fn).not.toHaveBeenCalled();
  });

  it('never runs more than maxConcurrent calls under a burst of concurrent callers', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 3, maxQueue: 50 });
    let running = 0;
    let peak = 0;
    const calls = Array.from({ length: 60 }, (_, i) =>
      bulkhead.execute(async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((resolve) => setTimeout(resolve, (i * 7) % 13));
        running--;
        return i;
      }),
    );
    const all = Promise.allSettled(calls);
    await vi.runAllTimersAsync();
    const settled = await all;
    expect(peak).toBe(3);
    expect(settled.filter((s) => s.status === 'fulfilled')).toHaveLength(53);
    expect(settled.filter((s) => s.status === 'rejected')).toHaveLength(7);
    expect([bulkhead.active, bulkhead.queued]).toEqual([0, 0]);
  });

  it('drains 100 000 queued callers in FIFO order', async () => {
    const n = 100_000;
    const bulkhead = new Bulkhead({ maxConcurrent: 4, maxQueue: Infinity });
    const gate = deferred();
    const order: number[] = [];
    let running = 0;
    let peak = 0;
    const first = Array.from({ length: 4 }, () => bulkhead.execute(() => gate.promise));
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < n; i++) {
      calls.push(
        bulkhead.execute(() => {
          order.push(i);
          peak = Math.max(peak, ++running);
          return Promise.resolve().then(() => running--);
        }),
      );
    }
    expect(bulkhead.queued).toBe(n);
    gate.resolve(undefined);
    await Promise.all(first);
    await Promise.all(calls);
    expect(order.length).toBe(n);
    let inOrder = true;
    for (let i = 0; i < n; i++) if (order[i] !== i) inOrder = false;
    expect(inOrder).toBe(true);
    expect(peak).toBeLessThanOrEqual(4);
    expect([bulkhead.active, bulkhead.queued]).toEqual([0, 0]);
  });

  it('emits admitted { waited: 0 } when a call takes a free slot, before fn runs', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1 });
    const seen: unknown[] = [];
    bulkhead.on('admitted', (payload) => seen.push(['admitted', payload, bulkhead.active]));
    await bulkhead.execute(() => seen.push('fn'));
    expect(seen).toEqual([['admitted', { waited: 0 }, 1], 'fn']);
  });

  it('emits admitted { waited } with the ms a queued call waited, when the slot is handed to it', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 2 });
    const seen: number[] = [];
    bulkhead.on('admitted', ({ waited }) => seen.push(waited!));
    const first = deferred();
    const running = bulkhead.execute(() => first.promise);
    await vi.advanceTimersByTimeAsync(50);
    const second = deferred();
    const queued = bulkhead.execute(() => second.promise);
    const last = bulkhead.execute(() => 'last');
    await vi.advanceTimersByTimeAsync(250);
    first.resolve('first');
    await flush();
    await vi.advanceTimersByTimeAsync(100);
    second.resolve('second');
    expect(await Promise.all([running, queued, last])).toEqual(['first', 'second', 'last']);
    expect(seen).toEqual([0, 250, 350]);
  });

  it('emits no admitted for a call rejected, timed out or aborted in the queue, and none without waited for one queued before anyone listened', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 2, queueTimeout: 100 });
    const gate = deferred();
    const running = bulkhead.execute(() => gate.promise);
    const hold = deferred();
    const early = bulkhead.execute(() => hold.promise); // queued before the listener: not timed
    const seen: unknown[] = [];
    bulkhead.on('admitted', (payload) => seen.push(payload));
    const controller = new AbortController();
    const aborted = rejection(bulkhead.execute(() => 'aborted', controller.signal));
    await rejection(bulkhead.execute(() => 'full'));
    controller.abort(new Error('gone'));
    await aborted;
    const timedOut = rejection(bulkhead.execute(() => 'timed out'));
    await vi.advanceTimersByTimeAsync(50);
    gate.resolve('done');
    await flush();
    expect(seen).toEqual([{}]); // early got the slot: it was queued before the listener, untimed
    await vi.advanceTimersByTimeAsync(100);
    expect(await timedOut).toBeInstanceOf(BulkheadRejectedError);
    hold.resolve('early');
    expect(await Promise.all([running, early])).toEqual(['done', 'early']);
    expect(seen).toEqual([{}]);
  });

  it('reads no clock, for a free slot or in the queue, when nobody listens to admitted', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 1 });
    bulkhead.on('rejected', () => {});
    const clock = vi.spyOn(performance, 'now');
    const gate = deferred();
    const running = bulkhead.execute(() => gate.promise);
    const queued = bulkhead.execute(() => 'queued');
    gate.resolve('done');
    expect(await Promise.all([running, queued])).toEqual(['done', 'queued']);
    expect(clock).not.toHaveBeenCalled();
    clock.mockRestore();
  });

  it('rejects invalid options naming the option', () => {
    const make = (options: unknown) => () => new Bulkhead(options as BulkheadOptions);
    expect(make(undefined)).toThrow(/"maxConcurrent" is required/);
    expect(make({})).toThrow(TypeError);
    expect(make({ maxConcurrent: 0 })).toThrow(/"maxConcurrent"/);
    expect(make({ maxConcurrent: 1.5 })).toThrow(RangeError);
    expect(make({ maxConcurrent: Infinity })).toThrow(/"maxConcurrent"/);
    expect(make({ maxConcurrent: '2' })).toThrow(TypeError);
    expect(make({ maxConcurrent: 1, maxQueue: -1 })).toThrow(/"maxQueue"/);
    expect(make({ maxConcurrent: 1, maxQueue: 0.5 })).toThrow(/"maxQueue"/);
    expect(make({ maxConcurrent: 1, maxQueue: NaN })).toThrow(/"maxQueue"/);
    expect(make({ maxConcurrent: 1, queueTimeout: -1 })).toThrow(/"queueTimeout"/);
    expect(make({ maxConcurrent: 1, queueTimeout: NaN })).toThrow(/"queueTimeout"/);
    expect(make(null)).toThrow(TypeError);
    const ok = new Bulkhead({ maxConcurrent: 1, maxQueue: undefined, queueTimeout: Infinity } as unknown as BulkheadOptions);
    expect([ok.maxQueue, ok.queueTimeout]).toEqual([0, Infinity]);
  });
});
