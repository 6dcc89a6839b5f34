import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RetryBudget } from './retry-budget.js';
import { retryWithBackoff } from './retry.js';
import { budgetOp } from './store/budget-op.js';
import { createMemoryStore, memoryBackend } from './store/memory.js';
import { createStore } from './store/store.js';
import type { Store, StoreBackend } from './store/types.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

function firsts(budget: RetryBudget, n: number): void {
  for (let i = 0; i < n; i++) budget.onFirstAttempt();
}

function retriesAllowed(budget: RetryBudget, max = 10_000): number {
  let n = 0;
  while (n < max && budget.tryRetry()) n++;
  return n;
}

describe('RetryBudget', () => {
  it('allows ratio × first attempts retries in the window when the floor is 0', () => {
    const budget = new RetryBudget({ ratio: 0.2, minRetriesPerSecond: 0 });
    firsts(budget, 100);
    expect(retriesAllowed(budget)).toBe(20);
    expect(budget.tryRetry()).toBe(false);
  });

  it('allows minRetriesPerSecond × window seconds retries with no traffic at all', () => {
    const budget = new RetryBudget({ minRetriesPerSecond: 10, window: 10_000 });
    expect(retriesAllowed(budget)).toBe(100);
  });

  it('adds the floor to the ratio', () => {
    const budget = new RetryBudget({ ratio: 0.5, minRetriesPerSecond: 1, window: 2_000 });
    firsts(budget, 10);
    expect(retriesAllowed(budget)).toBe(7);
  });

  it('never refuses first attempts, and counts them even while retries are refused', () => {
    const budget = new RetryBudget({ ratio: 0.1, minRetriesPerSecond: 0 });
    expect(budget.tryRetry()).toBe(false);
    firsts(budget, 10);
    expect(budget.tryRetry()).toBe(true);
    expect(budget.tryRetry()).toBe(false);
    expect(budget.stats()).toEqual({ firstAttempts: 10, retries: 1, refused: 2, available: 0 });
  });

  it('forgets first attempts and retries once they slide out of the window', () => {
    const budget = new RetryBudget({ ratio: 1, minRetriesPerSecond: 0, window: 1_000 });
    firsts(budget, 5);
    expect(retriesAllowed(budget)).toBe(5);
    vi.advanceTimersByTime(500);
    firsts(budget, 2);
    expect(retriesAllowed(budget)).toBe(2);
    // The first five (and their retries) expire; the later two remain.
    vi.advanceTimersByTime(600);
    expect(budget.stats()).toMatchObject({ firstAttempts: 2, retries: 2, available: 0 });
    vi.advanceTimersByTime(500);
    expect(budget.stats()).toMatchObject({ firstAttempts: 0, retries: 0, refused: 0 });
  });

  it('slides in tenths of the window: an attempt leaves between 0.9 and 1 window later', () => {
    vi.advanceTimersByTime(1_000 - (performance.now() % 1_000)); // align to the start of a bucket
    const budget = new RetryBudget({ ratio: 1, minRetriesPerSecond: 0, window: 1_000 });
    vi.advanceTimersByTime(50);
    firsts(budget, 1); // in the middle of its 100 ms bucket
    vi.advanceTimersByTime(949);
    expect(budget.stats().firstAttempts).toBe(1);
    vi.advanceTimersByTime(1); // 950 ms later its bucket leaves the window whole
    expect(budget.stats().firstAttempts).toBe(0);
  });

  it('starts from empty after an idle gap far longer than the window', () => {
    const budget = new RetryBudget({ ratio: 0.5, minRetriesPerSecond: 0, window: 1_000 });
    firsts(budget, 4);
    retriesAllowed(budget);
    vi.advanceTimersByTime(3_600_000 + 37);
    expect(budget.stats()).toEqual({ firstAttempts: 0, retries: 0, refused: 0, available: 0 });
    firsts(budget, 2);
    expect(retriesAllowed(budget)).toBe(1);
  });

  it('keeps exact totals over many window turns of steady traffic', () => {
    const budget = new RetryBudget({ ratio: 0.2, minRetriesPerSecond: 0, window: 1_000 });
    // 10 first attempts every 50 ms for 10 windows; at most 20% retries any time.
    let allowed = 0;
    for (let t = 0; t < 10_000; t += 50) {
      firsts(budget, 10);
      allowed += retriesAllowed(budget);
      const s = budget.stats();
      expect(s.retries).toBeLessThanOrEqual(0.2 * s.firstAttempts);
      vi.advanceTimersByTime(50);
    }
    // In the steady state each 50 ms step frees what the step leaving the window had spent.
    expect(allowed).toBe(2_000 * 0.2);
  });

  it('rejects bad options naming the option', () => {
    expect(() => new RetryBudget({ ratio: -1 })).toThrow(/ratio/);
    expect(() => new RetryBudget({ minRetriesPerSecond: Number.NaN })).toThrow(RangeError);
    expect(() => new RetryBudget({ window: 0 })).toThrow(/window/);
    expect(() => new RetryBudget({ window: '1s' as unknown as number })).toThrow(TypeError);
    expect(() => new RetryBudget({ ratio: undefined } as never as object).ratio).not.toThrow();
    expect(new RetryBudget({ ratio: undefined } as never as object).ratio).toBe(0.2);
  });

  it('makes retryWithBackoff give up with reason "budget" when it refuses', async () => {
    const budget = new RetryBudget({ ratio: 0, minRetriesPerSecond: 0.1, window: 10_000 }); // one retry per window
    const retry = retryWithBackoff({ maxRetries: 5, jitter: 'none', initialDelay: 10, budget });
    const giveUps: unknown[] = [];
    retry.on('giveUp', (e) => giveUps.push({ attempts: e.attempts, reason: e.reason }));
    let calls = 0;
    const result = retry.execute(() => {
      calls++;
      throw new Error('down');
    });
    const settled = expect(result).rejects.toThrow('down');
    await vi.runAllTimersAsync();
    await settled;
    expect(calls).toBe(2);
    expect(giveUps).toEqual([{ attempts: 2, reason: 'budget' }]);
  });
});

describe('RetryBudget with a store', () => {
  // A store whose engine can be cut off: every op and ping fails while `down`.
  function flakyStore(): { store: Store; cut(down: boolean): void; syncs: () => number } {
    const backend = memoryBackend();
    let down = false;
    let syncs = 0;
    const fail = (): Promise<never> => Promise.reject(new Error('store down'));
    const flaky: StoreBackend = {
      ...backend,
      budget: (key, request) => (syncs++, down ? fail() : backend.budget(key, request)),
      ping: () => (down ? fail() : backend.ping()),
    };
    return { store: createStore(flaky), cut: (d) => void (down = d), syncs: () => syncs };
  }
  const settle = () => vi.advanceTimersByTimeAsync(0);

  it('needs a non-empty string key, and a store made by createMemoryStore, createRedisStore or createStore', () => {
    const store = createMemoryStore();
    expect(() => new RetryBudget({ store })).toThrow(new TypeError(`RetryBudget: option "key" must be a non-empty string, got undefined`));
    expect(() => new RetryBudget({ store, key: '' })).toThrow(/"key"/);
    expect(() => new RetryBudget({ store, key: 7 as unknown as string })).toThrow(TypeError);
    expect(() => new RetryBudget({ store: {} as Store, key: 'k' })).toThrow(/option "store" must be a store/);
    expect(() => new RetryBudget({ store: null as unknown as Store, key: 'k' })).toThrow(TypeError);
    expect(() => new RetryBudget({ key: 'k' })).not.toThrow(); // a key alone is harmless
  });

  it('refuses a key that is not a non-empty string without a store too (as RateLimiter does)', () => {
    for (const key of [42, '', {}, null]) {
      expect(() => new RetryBudget({ key: key as string })).toThrow(TypeError);
      expect(() => new RetryBudget({ key: key as string })).toThrow(/RetryBudget: option "key" must be a non-empty string/);
    }
    expect(() => new RetryBudget({ key: undefined })).not.toThrow();
  });

  it('shares one floor among the budgets of one store and key, not one floor each', async () => {
    const store = createMemoryStore();
    const options = { ratio: 0, minRetriesPerSecond: 10, window: 1_000, store, key: 'payments' }; // floor: 10 per window
    const budgets = [new RetryBudget(options), new RetryBudget(options), new RetryBudget(options)];
    for (const b of budgets) b.onFirstAttempt(); // each joins the fleet (its first sync)
    await settle();
    let allowed = 0;
    for (let round = 0; round < 20; round++) {
      for (const b of budgets) if (b.tryRetry()) allowed++;
      await vi.advanceTimersByTimeAsync(25); // syncs every 100 ms pass the unspent grants around
    }
    expect(allowed).toBe(10);
    // Another key is another budget.
    const other = new RetryBudget({ ...options, key: 'search' });
    other.onFirstAttempt();
    await settle();
    expect(retriesAllowed(other)).toBe(10);
  });

  it("holds the ratio on the fleet's first attempts: an instance without traffic may retry on the others", async () => {
    const store = createMemoryStore();
    const options = { ratio: 0.5, minRetriesPerSecond: 0, window: 1_000, store, key: 'k' };
    const busy = new RetryBudget(options);
    const quiet = new RetryBudget(options);
    quiet.tryRetry(); // joins; no view yet, so its own counts decide: nothing
    firsts(busy, 40); // the fleet may retry 20 times
    await vi.advanceTimersByTimeAsync(100); // both synced
    const spent = retriesAllowed(quiet) + retriesAllowed(busy);
    await vi.advanceTimersByTimeAsync(100);
    const later = retriesAllowed(quiet) + retriesAllowed(busy);
    expect(spent).toBeGreaterThan(0);
    expect(spent + later).toBe(20);
    expect(quiet.stats()).toMatchObject({ firstAttempts: 0, fleet: { firstAttempts: 40, instances: 2 } });
    expect(quiet.stats().retries).toBeGreaterThan(0);
  });

  it('decides on its own counts while the store is down, tells storeError and storeRecovered once each, and shares again by itself', async () => {
    const { store, cut } = flakyStore();
    const options = { ratio: 0, minRetriesPerSecond: 10, window: 1_000, store, key: 'k' };
    const a = new RetryBudget(options);
    const b = new RetryBudget(options);
    const events: string[] = [];
    a.on('storeError', ({ error }) => events.push(`error: ${(error as Error).message}`));
    a.on('storeRecovered', ({ downtime }) => events.push(`recovered after ${downtime} ms`));
    a.onFirstAttempt();
    b.onFirstAttempt();
    await settle();
    expect(retriesAllowed(a) + retriesAllowed(b)).toBe(10); // one floor
    cut(true);
    await vi.advanceTimersByTimeAsync(100); // the next sync fails: both go local
    expect(a.stats().fleet).toBeUndefined();
    // Each on its own counts: its own floor of 10, minus what it spent of the fleet's.
    const local = retriesAllowed(a) + retriesAllowed(b);
    expect(local).toBe(10);
    await vi.advanceTimersByTimeAsync(1_000); // a whole window later, each has its own 10 again
    a.onFirstAttempt();
    b.onFirstAttempt();
    expect(retriesAllowed(a)).toBe(10);
    expect(retriesAllowed(b)).toBe(10);
    for (let i = 0; i < 10; i++) {
      a.onFirstAttempt();
      await vi.advanceTimersByTimeAsync(100); // syncs keep failing at once, probes too
    }
    expect(events).toEqual(['error: store down']);
    cut(false);
    for (let i = 0; i < 20; i++) {
      a.onFirstAttempt();
      b.onFirstAttempt();
      await vi.advanceTimersByTimeAsync(100);
    }
    expect(events).toHaveLength(2);
    expect(events[1]).toMatch(/^recovered after \d+ ms$/);
    expect(a.stats().fleet).toMatchObject({ instances: 2 });
    // Shared again: the floor for both together.
    await vi.advanceTimersByTimeAsync(1_000); // (idle: both leave; the window empties)
    a.onFirstAttempt();
    b.onFirstAttempt();
    await settle();
    expect(retriesAllowed(a) + retriesAllowed(b)).toBe(10);
  });

  it('takes a reply it cannot read for a store failure, and decides on its own counts', async () => {
    const backend: StoreBackend = { ...memoryBackend(), budget: async () => budgetOp.reply(['not a number', 1, 0, 1]) };
    const budget = new RetryBudget({ ratio: 0, minRetriesPerSecond: 10, window: 1_000, store: createStore(backend), key: 'k' });
    const errors: unknown[] = [];
    budget.on('storeError', ({ error }) => errors.push(error));
    budget.onFirstAttempt();
    await settle();
    expect(errors).toEqual([new TypeError('budget: bad reply not a number')]);
    expect(retriesAllowed(budget)).toBe(10); // its own floor, not a NaN allowance
    expect(budgetOp.reply(['2.5', '3', 1, '2'])).toEqual({ grant: 2.5, firstAttempts: 3, retries: 1, instances: 2 });
    expect(() => budgetOp.reply(null)).toThrow(TypeError);
    expect(() => budgetOp.reply([null, 1, 1, 1])).toThrow(TypeError);
    await vi.advanceTimersByTimeAsync(2_000);
  });

  it("takes an unreadable reply from a createStore() engine for a store failure: no throw in a callback, storeError once", async () => {
    const bad: unknown[] = [undefined, null, 'OK', {}, { grant: Number.NaN, firstAttempts: 1, retries: 0, instances: 1 }, { grant: -1, firstAttempts: 1, retries: 0, instances: 1 }];
    for (const reply of bad) {
      const backend: StoreBackend = { ...memoryBackend(), budget: () => Promise.resolve(reply as never) };
      const store = createStore(backend);
      const budget = new RetryBudget({ ratio: 0, minRetriesPerSecond: 10, window: 1_000, store, key: 'k' });
      const errors: unknown[] = [];
      budget.on('storeError', ({ error }) => errors.push(error));
      budget.onFirstAttempt();
      await settle();
      expect(errors).toHaveLength(1);
      expect(errors[0]).toBeInstanceOf(TypeError);
      expect((errors[0] as Error).message).toMatch(/^budget: bad reply/);
      expect(store.link.down).toBe(true); // an outage like any other: the link probes, the budget goes local
      expect(retriesAllowed(budget)).toBe(10);
      await vi.advanceTimersByTimeAsync(2_000);
    }
    // A well-formed reply whose numbers come as strings (a SQL engine's numeric type) is read.
    const strings: StoreBackend = { ...memoryBackend(), budget: () => Promise.resolve({ grant: '4', firstAttempts: '1', retries: '0', instances: '1' } as never) };
    const budget = new RetryBudget({ ratio: 0, minRetriesPerSecond: 10, window: 1_000, store: createStore(strings), key: 'k' });
    budget.onFirstAttempt();
    await settle();
    expect(budget.stats()).toMatchObject({ available: 4, fleet: { firstAttempts: 1, retries: 0, instances: 1 } });
    await vi.advanceTimersByTimeAsync(2_000);
  });

  it('before its first reply spends a grace of one retry plus ratio × its own first attempts, not its own floor', async () => {
    // A hundred instances starting at once, each with a local floor of 10: the fleet's floor is 10 in all.
    const store = createMemoryStore();
    const options = { ratio: 0.5, minRetriesPerSecond: 10, window: 1_000, store, key: 'k' };
    const budgets = Array.from({ length: 100 }, () => new RetryBudget(options));
    let early = 0;
    for (const b of budgets) {
      firsts(b, 4); // its first sync leaves with the first of them; no reply yet
      expect(b.stats().available).toBe(3);
      early += retriesAllowed(b); // 1 + 0.5 × 4, where its own floor would have allowed 12
    }
    expect(early).toBe(300); // the old rule: 1 200
    await settle();
    // The replies charge what was spent early: the fleet's 0.5 × 400 + 10 = 210 is spent already, or nearly.
    let late = 0;
    for (const b of budgets) late += retriesAllowed(b);
    expect(late).toBeLessThanOrEqual(10);
    await vi.advanceTimersByTimeAsync(2_000);
  });

  it('back from idle, and back from an outage, spends the grace until a reply, not the local floor', async () => {
    // A store answering in 20 ms (within its timeout of 50), that can be cut off.
    const memory = memoryBackend();
    let down = false;
    const fail = (): Promise<never> => Promise.reject(new Error('store down'));
    const later = <T>(value: () => Promise<T>): Promise<T> => new Promise((r) => setTimeout(r, 20)).then(value);
    const backend: StoreBackend = { ...memory, budget: (key, q) => (down ? fail() : later(() => memory.budget(key, q))), ping: () => (down ? fail() : memory.ping()) };
    const a = new RetryBudget({ ratio: 0, minRetriesPerSecond: 10, window: 1_000, store: createStore(backend), key: 'k' });
    a.onFirstAttempt();
    expect(retriesAllowed(a)).toBe(1); // new: the grace until the reply
    await vi.advanceTimersByTimeAsync(20);
    expect(retriesAllowed(a)).toBe(9); // the fleet's floor, less the one spent early
    await vi.advanceTimersByTimeAsync(1_500); // idle: it left; the window emptied
    a.onFirstAttempt(); // wakes it: a sync leaves
    expect(a.stats()).toMatchObject({ available: 1 });
    expect(retriesAllowed(a)).toBe(1);
    await vi.advanceTimersByTimeAsync(20);
    expect(retriesAllowed(a)).toBe(9);
    down = true;
    await vi.advanceTimersByTimeAsync(100); // its sync fails: its own counts, as a budget without a store
    expect(a.stats().fleet).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1_000);
    const recovered: number[] = [];
    a.on('storeRecovered', ({ downtime }) => recovered.push(downtime));
    a.onFirstAttempt();
    expect(retriesAllowed(a)).toBe(10); // the local floor, in the outage
    down = false;
    while (recovered.length === 0) {
      a.onFirstAttempt();
      await vi.advanceTimersByTimeAsync(1);
    }
    // Back, its sync (asked for at once) not answered yet: the grace only, not what is left of the local floor.
    expect(a.stats().fleet).toBeUndefined();
    expect(retriesAllowed(a)).toBe(1);
    await vi.advanceTimersByTimeAsync(20);
    expect(a.stats().fleet).toMatchObject({ instances: 1 });
    await vi.advanceTimersByTimeAsync(2_000);
  });

  it('stops syncing when idle, leaving the fleet and no timer behind', async () => {
    const { store, syncs } = flakyStore();
    const options = { ratio: 0, minRetriesPerSecond: 10, window: 1_000, store, key: 'k' };
    const a = new RetryBudget(options);
    const b = new RetryBudget(options);
    a.onFirstAttempt();
    b.onFirstAttempt();
    await vi.advanceTimersByTimeAsync(100);
    expect(b.stats().fleet?.instances).toBe(2);
    const before = syncs();
    for (let i = 0; i < 5; i++) {
      b.onFirstAttempt(); // a stays idle: one more tick, it leaves and stops
      await vi.advanceTimersByTimeAsync(100);
    }
    expect(b.stats().fleet?.instances).toBe(1);
    expect(syncs() - before).toBe(5 + 1); // b once per interval; a one leave, then nothing
    expect(a.stats().fleet).toBeUndefined();
    await vi.advanceTimersByTimeAsync(200); // b idle too
    expect(vi.getTimerCount()).toBe(0);
    // Back to work: a sync at once, and b holds the whole floor again.
    b.onFirstAttempt();
    await settle();
    expect(retriesAllowed(b)).toBe(10);
  });

  it('idle in an outage, keeps no timer of its own (whatever the link does)', async () => {
    // A link that is down for good and keeps no timer itself (no probe): what is left is the budget's.
    const error = new Error('ECONNREFUSED');
    const ups: unknown[] = [];
    const link = { backend: memoryBackend(), timeout: 50, down: true, run: () => Promise.reject(error), onUp: (up: unknown) => (ups.push(up), () => {}) };
    const store = { link, fleet: createMemoryStore().fleet } as unknown as Store;
    const budget = new RetryBudget({ ratio: 0, minRetriesPerSecond: 10, window: 1_000, store, key: 'k' });
    const errors: unknown[] = [];
    budget.on('storeError', ({ error: e }) => errors.push(e));
    for (let round = 0; round < 2; round++) {
      budget.onFirstAttempt();
      await settle(); // its sync is refused at once: local
      expect(retriesAllowed(budget)).toBe(10 * (1 - round)); // the local floor (spent in round 0)
      expect(vi.getTimerCount()).toBe(1); // its sync timer, while in use
      await vi.advanceTimersByTimeAsync(200); // an interval without a call: idle
      expect(vi.getTimerCount()).toBe(0);
    }
    expect(errors).toEqual([error]); // one outage, one storeError
    expect(ups).toHaveLength(1);
  });

  it('does not keep a process alive: its sync timer is unref()ed', async () => {
    const unref = vi.fn();
    const real = globalThis.setTimeout;
    const spy = vi.spyOn(globalThis, 'setTimeout').mockImplementation(((fn: () => void, ms?: number) => {
      const handle = real(fn, ms);
      (handle as { unref?: () => void }).unref = unref;
      return handle;
    }) as typeof setTimeout);
    try {
      const budget = new RetryBudget({ store: createMemoryStore(), key: 'k' });
      budget.onFirstAttempt();
      expect(unref).toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
    await vi.advanceTimersByTimeAsync(5_000);
  });

  it('has on() for storeError and storeRecovered only, with or without a store', () => {
    const budgets = [new RetryBudget(), new RetryBudget({ store: createMemoryStore(), key: 'k' })];
    for (const budget of budgets) {
      const off = budget.on('storeError', () => {});
      expect(typeof off).toBe('function');
      off();
      off();
      expect(() => budget.on('storeErorr' as 'storeError', () => {})).toThrow(new TypeError(`on: unknown event 'storeErorr', did you mean 'storeError'?`));
      expect(() => budget.on('retry' as 'storeError', () => {})).toThrow(TypeError);
      expect(() => budget.on('storeRecovered', 'x' as never)).toThrow(TypeError);
    }
  });
});
