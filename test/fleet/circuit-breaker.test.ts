// The fleet CircuitBreaker's own guarantees, beyond the shared behaviour suite
// (behaviour.test.ts: trip, idle instance, dilution, half-open, hung trial,
// reopen, isolate/reset, outage events): what a sync costs and when it runs,
// what a count window and the snapshot mean with a store, the outage's local
// window and the fleet's state after it, and (against a real redis-server)
// that the Lua script and its memory twin make the same decisions.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  BrokenCircuitError,
  CircuitBreaker,
  createMemoryStore,
  createRedisStore,
  createStore,
  IsolatedCircuitError,
  type BreakerReply,
  type BreakerRequest,
  type Store,
  type StoreBackend,
} from '../../src/index.js';
import { breakerOp } from '../../src/store/breaker-op.js';
import { keyNames } from '../../src/store/store.js';
import { MemoryKVImpl } from '../../src/store/memory.js';
import { gated } from './harness/gated.js';
import { describeRedis, startRedis, type RedisServer } from './harness/redis-server.js';
import { connect, type RespClient } from '../../examples/fleet/resp.js';

const boom = (): Promise<never> => Promise.reject(new Error('boom'));
const ok = (): string => 'ok';

/** The engine of a memory store, behind a switch and a log: every `breaker` op with its time. */
function tapped(engine: StoreBackend, timeout = 50) {
  let mode: 'ok' | 'error' | 'hang' = 'ok';
  const ops: { at: number; request: BreakerRequest }[] = [];
  const switched = gated(engine, (run) => (mode === 'error' ? Promise.reject(new Error('store down')) : mode === 'hang' ? new Promise(() => {}) : run()));
  // Every breaker op is logged, the ones the switch fails or holds too.
  const backend: StoreBackend = {
    ...switched,
    breaker: (key, q) => {
      ops.push({ at: performance.now(), request: q });
      return switched.breaker(key, q);
    },
  };
  return { store: createStore(backend, { timeout }), ops, fault: (m: typeof mode) => (mode = m) };
}

/** Settles `p` while letting fake time run, and returns how it ended. */
async function outcome(p: Promise<unknown>, ms = 0): Promise<{ value?: unknown; error?: unknown }> {
  const seen = p.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  await vi.advanceTimersByTimeAsync(ms);
  return seen;
}

describe('fleet CircuitBreaker (createMemoryStore, fake timers)', () => {
  let shared: Store;
  beforeEach(() => {
    vi.useFakeTimers();
    shared = createMemoryStore();
  });
  afterEach(() => void vi.useRealTimers());

  const breaker = (options: ConstructorParameters<typeof CircuitBreaker>[0] = {}, store: Store = shared) =>
    new CircuitBreaker({ syncInterval: 100, key: 'k', store, ...options });

  it('checks store, key and syncInterval at once, naming them', () => {
    expect(() => new CircuitBreaker({ store: {} as Store, key: 'k' })).toThrow(TypeError);
    expect(() => new CircuitBreaker({ store: 42 as unknown as Store, key: 'k' })).toThrow(/store/);
    expect(() => new CircuitBreaker({ store: shared })).toThrow(/key/);
    for (const key of ['', 42]) expect(() => new CircuitBreaker({ store: shared, key: key as string })).toThrow(TypeError);
    for (const syncInterval of [0, -1, NaN, Infinity, 2 ** 31]) {
      expect(() => new CircuitBreaker({ store: shared, key: 'k', syncInterval })).toThrow(RangeError);
      expect(() => new CircuitBreaker({ store: shared, key: 'k', syncInterval })).toThrow(/syncInterval/);
    }
    expect(() => new CircuitBreaker({ store: shared, key: 'k', syncInterval: 5 })).not.toThrow();
    // Without a store, nothing of the fleet is made.
    expect(() => new CircuitBreaker({ store: undefined })).not.toThrow();
  });

  it('the happy path makes no store round trip: 10 000 calls in one interval, then one sync carrying them', async () => {
    const { store, ops } = tapped(shared.link.backend);
    const b = breaker({ failureRateThreshold: 0.5, windowDuration: 10_000 }, store);
    await b.execute(ok); // the first call waits for the first sync
    expect(ops.length).toBe(1);
    for (let i = 0; i < 10_000; i++) await b.execute(ok);
    expect(ops.length).toBe(1);
    await vi.advanceTimersByTimeAsync(100);
    expect(ops.length).toBe(2);
    expect(ops[1]!.request).toMatchObject({ calls: 10_001, failures: 0 });
    // Another instance's view holds them after its own first sync.
    const other = breaker({ failureRateThreshold: 0.5, windowDuration: 10_000 });
    await other.execute(ok);
    expect(other.stats().calls).toBe(10_002);
  });

  it('sends at most 2 store commands per syncInterval per instance, whatever the call rate and state', async () => {
    const { store, ops } = tapped(shared.link.backend);
    const b = breaker({ failureThreshold: 3, openDuration: 250, halfOpenMaxCalls: 1 }, store);
    const other = breaker({ failureThreshold: 3, openDuration: 250 });
    const started = performance.now();
    let calls = 0;
    for (let t = 0; t < 3_000; t += 5) {
      // Bursts of calls every 5 ms: successes, then a failing stretch that trips it, rejections while
      // open, and crowds of would-be trials in half-open; the other instance trips it too, later.
      const fail = t % 1_000 > 400 && t % 1_000 < 450;
      for (let i = 0; i < 20; i++) void b.execute(fail ? boom : ok).catch(() => {}), calls++;
      if (t === 1_700) for (let i = 0; i < 3; i++) void other.execute(boom).catch(() => {});
      await vi.advanceTimersByTimeAsync(5);
    }
    expect(calls).toBe(12_000);
    const perInterval = new Map<number, number>();
    for (const { at } of ops) {
      const k = Math.floor((at - started) / 100);
      perInterval.set(k, (perInterval.get(k) ?? 0) + 1);
    }
    expect(Math.max(...perInterval.values())).toBeLessThanOrEqual(2);
    expect(ops.length).toBeLessThanOrEqual(2 * 30 + 1);
    // It did go through all of it: trips, trials, reopenings.
    expect(ops.some((o) => o.request.open !== -1)).toBe(true);
    expect(ops.some((o) => o.request.lease !== '')).toBe(true);
  });

  it('the sync timer is unref’d and stops once the breaker is idle: a dropped breaker leaves no timer', async () => {
    const unrefs: unknown[] = [];
    const setTimeoutFake = globalThis.setTimeout;
    const spy = vi.spyOn(globalThis, 'setTimeout').mockImplementation(((fn: () => void, ms?: number) => {
      const timer = setTimeoutFake(fn, ms);
      const unref = timer.unref.bind(timer);
      timer.unref = () => (unrefs.push(timer), unref());
      return timer;
    }) as typeof setTimeout);
    try {
      const b = breaker({ syncInterval: 1_000 });
      await b.execute(ok);
      await outcome(b.execute(boom));
      expect(vi.getTimerCount()).toBe(1);
      expect(unrefs.length).toBeGreaterThan(0);
      // 10 s without a call (at least 5 intervals): the sync stops, nothing is left to run.
      await vi.advanceTimersByTimeAsync(10_000);
      expect(vi.getTimerCount()).toBe(1);
      await vi.advanceTimersByTimeAsync(1_000);
      expect(vi.getTimerCount()).toBe(0);
      // The next call waits for one sync, and the timer runs again.
      expect((await outcome(b.execute(ok))).value).toBe('ok');
      expect(vi.getTimerCount()).toBe(1);
    } finally {
      spy.mockRestore();
    }
  });

  it('a call after the sync stopped waits for one sync; with a hung store no longer than its timeout, and then it runs', async () => {
    const { store, ops, fault } = tapped(shared.link.backend, 50);
    const b = breaker({}, store);
    const events: string[] = [];
    b.on('storeError', () => events.push('storeError'));
    b.on('storeRecovered', () => events.push('storeRecovered'));
    await b.execute(ok);
    await vi.advanceTimersByTimeAsync(20_000); // idle: the sync stopped
    fault('hang');
    let called = false;
    const started = performance.now();
    const call = b.execute(() => ((called = true), 'ok'));
    await vi.advanceTimersByTimeAsync(49);
    expect(called).toBe(false);
    const result = await outcome(call, 1);
    expect(result.value).toBe('ok');
    expect(performance.now() - started).toBe(50);
    expect(events).toEqual(['storeError']);
    // While down, calls go straight through on the breaker's own state: no store operation per call.
    const before = ops.length;
    for (let i = 0; i < 100; i++) expect(await b.execute(ok)).toBe('ok');
    expect(ops.length).toBe(before);
    fault('ok');
    await vi.advanceTimersByTimeAsync(2_000);
    expect(events).toEqual(['storeError', 'storeRecovered']);
  });

  it("a caller's abort while its call waits for a sync rejects at once with its reason, calling nothing", async () => {
    const { store, fault } = tapped(shared.link.backend, 1_000);
    const b = breaker({}, store);
    fault('hang');
    const controller = new AbortController();
    let called = false;
    const call = outcome(b.execute(() => ((called = true), 'ok'), controller.signal));
    await vi.advanceTimersByTimeAsync(10);
    controller.abort(new Error('caller gave up'));
    const result = await call;
    expect((result.error as Error).message).toBe('caller gave up');
    expect(called).toBe(false);
  });

  it('a count window judges rates on this instance’s own last calls; the state it opens is the fleet’s', async () => {
    const options = { failureRateThreshold: 0.5, minimumCalls: 10, windowSize: 20, openDuration: 10_000 };
    const [sick, healthy] = [breaker(options), breaker(options)] as [CircuitBreaker, CircuitBreaker];
    for (let i = 0; i < 100; i++) await healthy.execute(ok);
    for (let i = 0; i < 10; i++) await outcome(sick.execute(boom));
    expect(sick.state).toBe('open');
    await vi.advanceTimersByTimeAsync(100);
    const rejected = await outcome(healthy.execute(ok));
    expect(rejected.error).toBeInstanceOf(BrokenCircuitError);
  });

  it('stats() counts the fleet’s calls with a time window; toJSON() holds this instance’s own, and initialState only seeds the view until the first sync', async () => {
    const options = { failureRateThreshold: 0.9, windowDuration: 60_000 };
    const [a, b] = [breaker(options), breaker(options)] as [CircuitBreaker, CircuitBreaker];
    for (let i = 0; i < 5; i++) await a.execute(ok);
    for (let i = 0; i < 3; i++) await b.execute(ok);
    await outcome(b.execute(boom));
    await vi.advanceTimersByTimeAsync(200);
    expect(a.stats()).toMatchObject({ state: 'closed', calls: 9, failures: 1 });
    const saved = a.toJSON();
    expect(saved.window.kind === 'time' && saved.window.buckets.reduce((n, [, calls]) => n + calls, 0)).toBe(5);
    // A breaker restored open joins a closed fleet: the fleet's state wins at its first sync.
    const opened = new CircuitBreaker({ failureThreshold: 1 });
    await outcome(opened.execute(boom));
    const restored = breaker({ ...options, initialState: opened.toJSON() });
    expect(restored.state).toBe('open');
    expect((await outcome(restored.execute(ok))).value).toBe('ok');
    expect(restored.state).toBe('closed');
  });

  it('isolation holds nest across the fleet, and a reset anywhere ends them all', async () => {
    const [a, b] = [breaker(), breaker()] as [CircuitBreaker, CircuitBreaker];
    await a.execute(ok);
    await b.execute(ok);
    const first = a.isolate();
    const second = a.isolate();
    await vi.advanceTimersByTimeAsync(100);
    expect((await outcome(b.execute(ok))).error).toBeInstanceOf(IsolatedCircuitError);
    first();
    first(); // twice is once
    await vi.advanceTimersByTimeAsync(200);
    expect(b.state).toBe('isolated');
    second();
    await vi.advanceTimersByTimeAsync(200);
    expect([a.state, b.state]).toEqual(['closed', 'closed']);
    // Held from both, reset from a third: every hold ends, and a stale release changes nothing.
    const c = breaker();
    await c.execute(ok);
    const fromA = a.isolate();
    b.isolate();
    await vi.advanceTimersByTimeAsync(200);
    expect(c.state).toBe('isolated');
    c.reset();
    await vi.advanceTimersByTimeAsync(200);
    expect([a.state, b.state, c.state]).toEqual(['closed', 'closed', 'closed']);
    fromA();
    const d = a.isolate();
    await vi.advanceTimersByTimeAsync(200);
    expect(c.state).toBe('isolated');
    d();
    await vi.advanceTimersByTimeAsync(200);
    expect(c.state).toBe('closed');
  });

  it('a reset this instance had not seen ends its holds from before it, not the one it took since', async () => {
    const [a, b] = [breaker(), breaker()] as [CircuitBreaker, CircuitBreaker];
    await a.execute(ok);
    await b.execute(ok);
    const old = b.isolate();
    await vi.advanceTimersByTimeAsync(200);
    expect(a.state).toBe('isolated');
    await vi.advanceTimersByTimeAsync(15_000); // b falls idle, still holding
    a.reset(); // ends b's hold in the fleet; b has not seen it
    await vi.advanceTimersByTimeAsync(200);
    expect(a.state).toBe('closed');
    const fresh = b.isolate();
    await vi.advanceTimersByTimeAsync(300);
    expect([a.state, b.state]).toEqual(['isolated', 'isolated']);
    old(); // ended by the reset: releases nothing
    await vi.advanceTimersByTimeAsync(300);
    expect([a.state, b.state]).toEqual(['isolated', 'isolated']);
    fresh();
    await vi.advanceTimersByTimeAsync(300);
    expect([a.state, b.state]).toEqual(['closed', 'closed']);
  });

  it('isolated in an outage and idle since, it keeps no timer, and the fleet hears of the hold when the store is back', async () => {
    const { store, fault } = tapped(shared.link.backend);
    const [a, b] = [breaker({}, store), breaker({}, store)] as [CircuitBreaker, CircuitBreaker];
    await a.execute(ok);
    await b.execute(ok);
    fault('error');
    b.isolate();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(vi.getTimerCount()).toBe(0);
    fault('ok');
    // Another call on the store finds it back: b sends its hold.
    expect(await a.execute(ok)).toBe('ok');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(a.state).toBe('isolated');
  });

  it('a reset() from a listener, while the fleet’s state is being applied, still reaches the fleet', async () => {
    const [a, b] = [breaker({ failureThreshold: 1, openDuration: 60_000 }), breaker({ failureThreshold: 1, openDuration: 60_000 })] as [CircuitBreaker, CircuitBreaker];
    await a.execute(ok);
    await b.execute(ok);
    b.on('open', () => b.reset());
    await outcome(a.execute(boom));
    expect(a.state).toBe('open');
    await vi.advanceTimersByTimeAsync(300);
    expect([a.state, b.state]).toEqual(['closed', 'closed']);
  });

  it('in an outage it goes on with its own window; when the store answers, the fleet’s state replaces its own', async () => {
    const { store, fault } = tapped(shared.link.backend);
    const lonely = breaker({ failureThreshold: 3, openDuration: 60_000 }, store);
    const other = breaker({ failureThreshold: 3, openDuration: 60_000 });
    await lonely.execute(ok);
    await other.execute(ok);
    const moves: string[] = [];
    lonely.on('stateChange', ({ from, to }) => moves.push(`${from}->${to}`));
    fault('error');
    await vi.advanceTimersByTimeAsync(100); // the next sync fails: local from now on
    for (let i = 0; i < 3; i++) await outcome(lonely.execute(boom));
    expect(lonely.state).toBe('open'); // on its own window
    await vi.advanceTimersByTimeAsync(300);
    expect(other.state).toBe('closed');
    fault('ok');
    await vi.advanceTimersByTimeAsync(2_000);
    expect(lonely.state).toBe('closed');
    expect(moves).toEqual(['closed->open', 'open->closed']);
    expect((await outcome(lonely.execute(ok))).value).toBe('ok');
  });

  it('each instance starts at most one trial per lease and the fleet at most halfOpenMaxCalls, also with trials hung past their lease', async () => {
    const options = { failureThreshold: 1, openDuration: 1_000, halfOpenMaxCalls: 2, successThreshold: 3 };
    const fleet = [1, 2, 3, 4].map(() => breaker(options));
    for (const b of fleet) await b.execute(ok);
    await outcome(fleet[0]!.execute(boom));
    await vi.advanceTimersByTimeAsync(1_100);
    let running = 0;
    let most = 0;
    const hang = () => new Promise<never>(() => void (running++, (most = Math.max(most, running))));
    for (let round = 0; round < 30; round++) {
      for (const b of fleet) void b.execute(hang).catch(() => {});
      await vi.advanceTimersByTimeAsync(20);
    }
    expect(most).toBe(2); // 600 ms: within the leases
    await vi.advanceTimersByTimeAsync(1_000); // the hung trials' leases expire
    for (let round = 0; round < 30; round++) {
      for (const b of fleet) void b.execute(hang).catch(() => {});
      await vi.advanceTimersByTimeAsync(20);
    }
    expect(running).toBe(4); // two new trials, on new leases; never more than two at once within a lease
  });
});

describeRedis('fleet CircuitBreaker on redis-server', () => {
  let redis: RedisServer;
  let client: RespClient;
  beforeAll(async () => {
    redis = await startRedis();
    client = connect(redis.port);
  }, 30_000);
  afterAll(async () => {
    client?.close();
    await redis?.stop();
  });

  const send = (command: string, args: string[]) => client.send(command, args);
  const base = (q: Partial<BreakerRequest>): BreakerRequest => ({
    instance: 'a',
    generation: -1,
    calls: 0,
    failures: 0,
    slow: 0,
    bucket: 0,
    released: 0,
    successes: 0,
    successThreshold: 2,
    open: -1,
    lease: '',
    maxTrials: 1,
    holds: -1,
    fresh: 0,
    resets: -1,
    reset: '',
    ttl: 60_000,
    ...q,
  });

  it('the Lua script and its memory twin make the same decisions, step by step', async () => {
    const prefix = `bw-twin:${Date.now()}:`;
    const { redisBackend } = await import('../../src/store/redis.js');
    const lua = redisBackend(send, prefix);
    const kv = new MemoryKVImpl();
    const names = keyNames(prefix, 'twin', breakerOp.keys);
    const twin = (q: BreakerRequest): BreakerReply => {
      kv.now = Date.now();
      return breakerOp.memory(kv, names, q, kv.now);
    };
    const replies: [BreakerReply, BreakerReply][] = [];
    // Generations start at each engine's clock: a request names one as `gen`, counted from the first.
    let bases: [number, number] | undefined;
    const both = async ({ gen, ...q }: Partial<BreakerRequest> & { gen?: number }) => {
      const at = (i: 0 | 1) => (gen === undefined || bases === undefined ? -1 : bases[i] + gen);
      const pair: [BreakerReply, BreakerReply] = [await lua.breaker('twin', base({ ...q, generation: at(0) })), twin(base({ ...q, generation: at(1) }))];
      bases ??= [pair[0].generation, pair[1].generation];
      replies.push(pair);
      return { ...pair[0], generation: pair[0].generation - bases[0] };
    };
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    // Every key has the prefix, the hash tag and a TTL: checked while each kind exists.
    const keysNow = async (): Promise<string[]> => {
      const keys = (await redis.command('KEYS', `${prefix}*`)) as string[];
      for (const key of keys) {
        expect(names).toContain(key);
        expect(await redis.command('PTTL', key)).toBeGreaterThan(0);
      }
      return keys.map((key) => key.slice(key.indexOf('}') + 1)).sort();
    };
    await both({ bucket: 100, calls: 1 }); // a's first sync: counts of no known generation are dropped
    await both({ gen: 0, bucket: 100, calls: 5, failures: 2 });
    await both({ instance: 'b', gen: 0, bucket: 100, calls: 3, slow: 1 });
    await both({ instance: 'b', gen: -1, bucket: 100, calls: 7 }); // stale counts: dropped
    let r = await both({ gen: 0, open: 300 }); // a opens: CAS on the first generation
    await both({ instance: 'b', gen: 0, open: 300 }); // b too late: no move
    await both({ instance: 'b', gen: r.generation, lease: 'b:1' }); // not half-open yet: no lease
    await sleep(600); // (the twin runs a round trip later than the script: wide margins)
    await both({ instance: 'b', gen: r.generation, lease: 'b:2' }); // granted
    expect(await keysNow()).toEqual([':cb', ':cb:l', ':cb:w']);
    await both({ gen: r.generation, lease: 'a:1' }); // maxTrials 1: refused
    await both({ instance: 'b', gen: r.generation, released: 1, successes: 1 }); // 1 of 2 successes
    await both({ gen: r.generation, lease: 'a:2' });
    r = await both({ gen: r.generation, released: 1, successes: 1 }); // 2 of 2: closed
    await both({ gen: r.generation, holds: 2, resets: r.resets }); // a isolates
    await both({ instance: 'b', gen: r.generation + 1, holds: 1, resets: r.resets });
    expect(await keysNow()).toEqual([':cb', ':cb:h']);
    r = await both({ instance: 'c', resets: r.resets - 1, reset: 'c:1' }); // a reset, whatever resets c saw: holds end, closed
    r = await both({ instance: 'c', resets: r.resets - 1, reset: 'c:1' }); // the same one sent again (its sync failed late): applied once
    await both({ instance: 'b', gen: r.generation, holds: 2, fresh: 1, resets: r.resets - 1 }); // b missed the reset: 1 of its 2 holds is from after it
    await both({ resets: r.resets }); // a sees b's one hold
    r = await both({ instance: 'b', gen: r.generation + 1, holds: 0, resets: r.resets }); // released: closed
    await both({ gen: r.generation, open: Infinity }); // open without end
    await both({ instance: 'b', gen: r.generation + 1, lease: 'b:3' }); // never half-open
    await both({ instance: 'b', gen: r.generation + 1, bucket: 1.5, calls: 2 }); // buckets of a window that is no multiple of 10 ms
    // Generations start at each engine's clock: compare them from the first. Waits: over or not.
    const strip = ({ generation, wait, ...rest }: BreakerReply, first: BreakerReply) => ({ ...rest, generation: generation - first.generation, wait: wait === Infinity ? 'endless' : wait > 0 });
    for (const [fromLua, fromTwin] of replies) expect(strip(fromTwin, replies[0]![1])).toEqual(strip(fromLua, replies[0]![0]));
    expect(replies.map(([l]) => `${l.open ? 'open' : 'closed'}${l.others > 0 ? '+held' : ''}${l.leased ? '+lease' : ''}`)).toEqual([
      'closed', 'closed', 'closed', 'closed', 'open', 'open', 'open', 'open+lease', 'open', 'open', 'open+lease', 'closed',
      'closed', 'closed+held', 'closed', 'closed', 'closed', 'closed+held', 'closed', 'open', 'open', 'open',
    ]);
    expect(replies.slice(0, 4).map(([l]) => [l.calls, l.failures, l.slow])).toEqual([[0, 0, 0], [5, 2, 0], [8, 2, 1], [8, 2, 1]]);
    expect(await keysNow()).toEqual([':cb', ':cb:w']);
    expect(replies.at(-1)![0].calls).toBe(2);
  });

  it('a state written before the engine’s clock stepped back: no wait or lease outlasts one begun now, no future bucket counts (script and twin)', async () => {
    const prefix = `bw-step:${Date.now()}:`;
    const { redisBackend } = await import('../../src/store/redis.js');
    const lua = redisBackend(send, prefix);
    const kv = new MemoryKVImpl();
    const names = keyNames(prefix, 'step', breakerOp.keys) as [string, string, string, string];
    const STEP = 600_000; // the state was written 10 minutes "ahead" of the clock now
    const bucket = 100;
    const [seconds] = (await redis.command('TIME')) as [string];
    const ahead = Number(seconds) * 1000 + STEP;
    await redis.command('HSET', names[0], 'g', 1, 'p', 1, 'u', ahead, 'd', 1_000, 'o', 1, 's', 0, 'r', 0, 'x', '');
    await redis.command('ZADD', names[1], ahead, 'z:1');
    await redis.command('HSET', names[2], `${Math.floor(ahead / bucket)}c`, 5);
    for (const key of names.slice(0, 3)) await redis.command('PEXPIRE', key, 60_000);
    kv.now = Date.now();
    kv.set(names[0], { g: 1, p: 1, u: kv.now + STEP, d: 1_000, o: 1, s: 0, r: 0, x: '' }, 60_000);
    kv.set(names[1], [{ m: 'z:1', at: kv.now + STEP }], 60_000);
    kv.set(names[2], { [`${Math.floor((kv.now + STEP) / bucket)}c`]: 5 }, 60_000);
    const q = base({ generation: 1, bucket });
    for (const reply of [await lua.breaker('step', q), breakerOp.memory(kv, names, q, kv.now)]) {
      expect(reply.open).toBe(true);
      expect(reply.wait).toBeGreaterThan(0);
      expect(reply.wait).toBeLessThanOrEqual(1_000);
      expect(reply.calls).toBe(0);
    }
    const [s, us] = (await redis.command('TIME')) as [string, string];
    expect(Number(await redis.command('ZSCORE', names[1], 'z:1')) - (Number(s) * 1000 + Number(us) / 1000)).toBeLessThanOrEqual(1_000);
    expect(kv.get<{ at: number }[]>(names[1])![0]!.at - kv.now).toBe(1_000);
  });

  it('an open wait too long for Redis to count in whole ms is one without end, and still shared', async () => {
    const prefix = `bw-long:${Date.now()}:`;
    const store = createRedisStore({ send, prefix });
    const [a, b] = [1, 2].map(() => new CircuitBreaker({ failureThreshold: 1, openDuration: 1e300, syncInterval: 50, key: 'long', store })) as [CircuitBreaker, CircuitBreaker];
    const errors: unknown[] = [];
    for (const x of [a, b]) x.on('storeError', ({ error }) => errors.push(error));
    await a.execute(ok);
    await b.execute(ok);
    await a.execute(boom).catch(() => {});
    await new Promise((r) => setTimeout(r, 150));
    const rejected = await b.execute(ok).catch((e: unknown) => e);
    expect(rejected).toBeInstanceOf(BrokenCircuitError);
    expect((rejected as BrokenCircuitError).retryAfter).toBe(Infinity);
    expect(errors).toEqual([]);
    for (const key of (await redis.command('KEYS', `${prefix}*`)) as string[]) expect(await redis.command('PTTL', key)).toBeGreaterThan(0);
  });

  it('breakers on separate connections share one state, within syncInterval, at one command per interval on the happy path', async () => {
    const prefix = `bw-cb:${Date.now()}:`;
    const own = [connect(redis.port), connect(redis.port), connect(redis.port)];
    try {
      const breakers = own.map((c) => new CircuitBreaker({ failureThreshold: 3, openDuration: 5_000, syncInterval: 100, key: 'pay', store: createRedisStore({ send: (command, args) => c.send(command, args), prefix }) }));
      for (const b of breakers) await b.execute(ok);
      const written = own.map((c) => c.written);
      const started = performance.now();
      let calls = 0;
      while (performance.now() - started < 1_000) {
        for (const b of breakers) await b.execute(ok);
        calls += 3;
        if (calls % 300 === 0) await new Promise((r) => setTimeout(r, 1));
      }
      const intervals = (performance.now() - started) / 100;
      for (const [i, c] of own.entries()) expect((c.written - written[i]!) / intervals).toBeLessThanOrEqual(2);
      for (let i = 0; i < 3; i++) await outcome2(breakers[0]!.execute(boom));
      expect(breakers[0]!.state).toBe('open');
      await new Promise((r) => setTimeout(r, 250));
      for (const b of breakers.slice(1)) {
        let called = false;
        const error = await b.execute(() => ((called = true), 'ok')).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(BrokenCircuitError);
        expect(called).toBe(false);
        expect((error as BrokenCircuitError).retryAfter).toBeGreaterThan(4_000);
      }
    } finally {
      for (const c of own) c.close();
    }
  });
});

function outcome2(p: Promise<unknown>): Promise<unknown> {
  return p.catch((error: unknown) => error);
}
