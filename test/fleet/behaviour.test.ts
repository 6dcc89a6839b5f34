// What policies sharing a store and a key do together, as the contract
// (API.md, "Fleet state") states it — one suite, run on each engine:
// createMemoryStore() under fake timers, and createRedisStore() on a real
// redis-server in real time (short durations, bounds with honest slack).
// Several policy objects stand for the instances of a fleet; a store whose
// engine can be made to fail or hang stands for an instance with a sick link.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  BrokenCircuitError,
  CircuitBreaker,
  createMemoryStore,
  createRedisStore,
  createStore,
  IsolatedCircuitError,
  RateLimitedError,
  RateLimiter,
  RetryBudget,
  type Store,
  type StoreBackend,
} from '../../src/index.js';
import { gated } from './harness/gated.js';
import { allKeys, describeRedis, startRedis, type RedisServer } from './harness/redis-server.js';
import { connect, type RespClient } from '../../examples/fleet/resp.js';

type Fault = 'ok' | 'error' | 'hang';

/** A store on the engine with a switch: its operations work, fail at once, or never answer. */
interface FaultyStore {
  readonly store: Store;
  /** The error operations fail with in 'error' mode. */
  readonly injected: Error;
  fault(mode: Fault): void;
  /** Operations (pings included) that reached the engine's side of the switch. */
  readonly calls: number;
}

interface Engine {
  readonly name: string;
  /** Time is faked (vi.useFakeTimers) and moves only in `advance`. */
  readonly fake: boolean;
  /** ms of slack for a bound in time: scheduling and round trips in real time. */
  readonly slack: number;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Per test: a fresh keyspace. */
  fresh(): void;
  /** A store on the engine: every store from it shares one state. */
  store(): Store;
  faulty(timeout: number): FaultyStore;
  /** Lets `ms` pass (fake: advances the clock, running timers and microtasks). */
  advance(ms: number): Promise<void>;
  /** The keys the engine holds now, with their TTLs (Redis only). */
  keys?(): Promise<{ key: string; pttl: number }[]>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
// The store timeout of the stores that fail on purpose; the others get 250 ms, so a loaded machine is not taken for an outage.
const TIMEOUT = 200;
// The Redis run is in real time: some tests take a few seconds.
vi.setConfig({ testTimeout: 20_000 });

/** Wraps a backend behind the switch. */
function switchable(base: StoreBackend): { backend: StoreBackend; control: Omit<FaultyStore, 'store'> } {
  let mode: Fault = 'ok';
  let calls = 0;
  const injected = new Error('injected store failure');
  const backend = gated(base, (run) => {
    calls++;
    if (mode === 'error') return Promise.reject(injected);
    if (mode === 'hang') return new Promise(() => {});
    return run();
  });
  return {
    backend,
    control: {
      injected,
      fault: (m) => (mode = m),
      get calls() {
        return calls;
      },
    },
  };
}

function memoryEngine(): Engine {
  let shared: Store;
  return {
    name: 'createMemoryStore() (fake timers)',
    fake: true,
    slack: 2,
    async start() {},
    async stop() {},
    fresh() {
      vi.useFakeTimers();
      shared = createMemoryStore();
    },
    store: () => shared,
    faulty(timeout) {
      // A store of the user's own making (createStore) on the memory store's engine: the same state,
      // reached through a link that can be cut. (The engine is reached through the store's internals:
      // the public API has no memory backend of its own.)
      const { backend, control } = switchable(shared.link.backend);
      return { store: createStore(backend, { timeout }), ...control };
    },
    advance: (ms) => vi.advanceTimersByTimeAsync(ms).then(() => {}),
  };
}

function redisEngine(): Engine {
  let redis: RedisServer;
  let client: RespClient;
  let prefix = '';
  let n = 0;
  return {
    name: 'createRedisStore() on redis-server (real time)',
    fake: false,
    slack: 150,
    async start() {
      redis = await startRedis();
      client = connect(redis.port);
    },
    async stop() {
      client?.close();
      await redis?.stop();
    },
    fresh() {
      prefix = `bw-behaviour:${++n}:`;
    },
    store: () => createRedisStore({ send: (command, args) => client.send(command, args), prefix, timeout: 250 }),
    faulty(timeout) {
      // The switch sits in the user's `send`: what a sick client or network looks like to the store.
      let mode: Fault = 'ok';
      let calls = 0;
      const injected = new Error('injected store failure');
      const send = (command: string, args: string[]): Promise<unknown> => {
        calls++;
        if (mode === 'error') return Promise.reject(injected);
        if (mode === 'hang') return new Promise(() => {});
        return client.send(command, args);
      };
      return {
        store: createRedisStore({ send, prefix, timeout }),
        injected,
        fault: (m) => (mode = m),
        get calls() {
          return calls;
        },
      };
    },
    advance: (ms) => sleep(ms),
    keys: async () => [...(await allKeys(redis))].map(([key, pttl]) => ({ key, pttl })),
  };
}

/** The per-test prefix the Redis engine's keys share (bw-behaviour:<n>:), read off a key of the current test. */
function prefixOf(keys: string[]): string {
  const latest = Math.max(...keys.map((k) => Number(/^bw-behaviour:(\d+):/.exec(k)?.[1] ?? 0)));
  return `bw-behaviour:${latest}:`;
}

/** How a call ended, observed at once (no unhandled rejection while time is advanced). */
interface Call {
  readonly at: number;
  settled: boolean;
  ok: boolean;
  error: unknown;
  called: boolean;
  endedAt: number;
}

function observe(start: (markCalled: () => void) => Promise<unknown>): Call {
  const call: Call = { at: performance.now(), settled: false, ok: false, error: undefined, called: false, endedAt: NaN };
  start(() => (call.called = true)).then(
    () => Object.assign(call, { settled: true, ok: true, endedAt: performance.now() }),
    (error: unknown) => Object.assign(call, { settled: true, error, endedAt: performance.now() }),
  );
  return call;
}

for (const engine of [memoryEngine(), redisEngine()]) {
  const suite = engine.fake ? describe : describeRedis;
  suite(`fleet behaviour: ${engine.name}`, () => {
    const { slack } = engine;
    beforeAll(() => engine.start(), 30_000);
    afterAll(() => engine.stop());
    beforeEach(() => engine.fresh());
    afterEach(() => {
      vi.useRealTimers();
    });

    /** Waits until every call settled, or `max` ms passed; in fake time it advances 1 ms at a time. */
    async function settleAll(calls: Call[], max = 5_000): Promise<void> {
      const until = performance.now() + max;
      while (calls.some((c) => !c.settled) && performance.now() < until) await engine.advance(engine.fake ? 1 : 5);
      await engine.advance(0);
    }

    /** Calls `execute` on each breaker every `period` ms for `ms` ms; fn returns at once. */
    async function keepCalling(breakers: CircuitBreaker[], ms: number, period = 20): Promise<Call[][]> {
      const logs: Call[][] = breakers.map(() => []);
      const until = performance.now() + ms;
      while (performance.now() < until) {
        breakers.forEach((b, i) => logs[i]!.push(observe((mark) => b.execute(() => (mark(), 'ok')))));
        await engine.advance(period);
      }
      await settleAll(logs.flat());
      return logs;
    }

    const sync = 100;
    const rejectedFast = (c: Call) => c.settled && !c.called && c.error instanceof BrokenCircuitError;

    describe('RateLimiter', () => {
      it('limiters sharing a store and key draw from one bucket of `limit`', async () => {
        const limit = 5;
        const interval = 2_000;
        const perToken = interval / limit;
        const limiters = [1, 2, 3].map(() => new RateLimiter({ limit, interval, store: engine.store(), key: 'shared' }));
        const started = performance.now();
        const calls = Array.from({ length: 12 }, (_, i) => observe(() => limiters[i % 3]!.execute(() => 'ok')));
        await settleAll(calls);
        const elapsed = performance.now() - started;
        const admitted = calls.filter((c) => c.ok).length;
        expect(admitted).toBeGreaterThanOrEqual(limit);
        expect(admitted).toBeLessThanOrEqual(limit + Math.floor(elapsed / perToken));
        if (engine.fake) expect(admitted).toBe(limit);
        for (const c of calls.filter((c) => !c.ok)) {
          expect(c.error).toBeInstanceOf(RateLimitedError);
          expect((c.error as RateLimitedError).retryAfter).toBeGreaterThan(0);
          expect((c.error as RateLimitedError).retryAfter).toBeLessThanOrEqual(perToken);
        }
        // Another key is another bucket.
        const other = new RateLimiter({ limit, interval, store: engine.store(), key: 'other' });
        const others = Array.from({ length: limit }, () => observe(() => other.execute(() => 'ok')));
        await settleAll(others);
        expect(others.every((c) => c.ok)).toBe(true);

        // One token's time later, one more call is admitted: one, across all three.
        await engine.advance(perToken + 40);
        const next = limiters.map((l) => observe(() => l.execute(() => 'ok')));
        await settleAll(next);
        expect(next.filter((c) => c.ok)).toHaveLength(1);
      });

      it('any non-empty string is a key: each its own bucket, and (on Redis) all its keys in one Cluster hash slot', async () => {
        const odd = ['a b', 'é✓🙂', '{x}', 'a}b', '}x', 'x{', 'k'.repeat(500), 'shared:i'];
        for (const key of odd) {
          const limiters = [1, 2].map(() => new RateLimiter({ limit: 2, interval: 100_000, store: engine.store(), key }));
          const calls = Array.from({ length: 4 }, (_, i) => observe(() => limiters[i % 2]!.execute(() => 'ok')));
          await settleAll(calls);
          expect(calls.filter((c) => c.ok).length, JSON.stringify(key)).toBe(2);
        }
        if (!engine.keys) return;
        // Redis Cluster hashes the text between the first '{' and the next '}' when that is not empty, else the whole key.
        const slotOf = (k: string) => {
          const open = k.indexOf('{');
          const close = open < 0 ? -1 : k.indexOf('}', open + 1);
          return close > open + 1 ? k.slice(open + 1, close) : k;
        };
        const keys = (await engine.keys()).map((k) => k.key);
        for (const key of odd) {
          // This key's Redis keys: prefix + '{' + key + '}' + suffix (a '}' in the key written %7D, '%' as %25),
          // not those of a longer odd key it begins.
          const tag = (k: string) => `${prefixOf(keys)}{${k.replace(/%/g, '%25').replace(/\}/g, '%7D')}}`;
          const mine = keys.filter((k) => k.startsWith(tag(key)) && !odd.some((o) => o !== key && o.startsWith(key) && k.startsWith(tag(o))));
          expect(mine.length, JSON.stringify(key)).toBeGreaterThan(0);
          expect(new Set(mine.map(slotOf)).size, `${JSON.stringify(key)}: ${mine.join(', ')}`).toBe(1);
        }
      });

      it('maxWait reserves tokens fleet-wide: waiting callers of different limiters are served in turn', async () => {
        const [a, b] = [1, 2].map(() => new RateLimiter({ limit: 2, interval: 1_000, maxWait: 1_000, store: engine.store(), key: 'wait' })) as [RateLimiter, RateLimiter];
        const first = [observe(() => a.execute(() => 'ok')), observe(() => b.execute(() => 'ok'))];
        await settleAll(first);
        expect(first.every((c) => c.ok)).toBe(true);
        const t0 = performance.now();
        const waiting = [observe(() => b.execute(() => 'ok')), observe(() => a.execute(() => 'ok'))];
        await engine.advance(engine.fake ? 1 : 50);
        const late = observe(() => b.execute(() => 'ok'));
        await settleAll([...waiting, late], 3_000);
        // The third token is due at 500 ms, the fourth at 1000 ms; the fifth, at 1500, is past maxWait.
        const waits = waiting.map((c) => c.endedAt - t0).sort((x, y) => x - y);
        expect(waiting.every((c) => c.ok)).toBe(true);
        expect(waits[0]).toBeGreaterThanOrEqual(500 - slack);
        expect(waits[0]).toBeLessThanOrEqual(500 + slack);
        expect(waits[1]).toBeGreaterThanOrEqual(1_000 - slack);
        expect(waits[1]).toBeLessThanOrEqual(1_000 + slack);
        expect(late.error).toBeInstanceOf(RateLimitedError);
        expect(late.endedAt - late.at).toBeLessThanOrEqual(slack + 5);
        expect((late.error as RateLimitedError).retryAfter).toBeGreaterThan(1_000);
        expect((late.error as RateLimitedError).retryAfter).toBeLessThanOrEqual(1_500);
      });

      /** Two limiters on a store that can fail, both seen by it (one call each) before it does. */
      async function twoSeen(limit: number, interval: number, key: string) {
        const sick = engine.faulty(TIMEOUT);
        const limiters = [1, 2].map(() => new RateLimiter({ limit, interval, store: sick.store, key }));
        const events = limiters.map((l) => {
          const seen = { errors: [] as unknown[], recovered: [] as number[] };
          l.on('storeError', ({ error }) => seen.errors.push(error));
          l.on('storeRecovered', ({ downtime }) => seen.recovered.push(downtime));
          return seen;
        });
        const warm = limiters.map((l) => observe(() => l.execute(() => 'ok')));
        await settleAll(warm);
        expect(warm.every((c) => c.ok)).toBe(true);
        return { sick, limiters, events };
      }
      const burstEach = async (limiters: RateLimiter[], n: number): Promise<{ admitted: number[]; calls: Call[] }> => {
        const calls = limiters.flatMap((l) => Array.from({ length: n }, () => observe(() => l.execute(() => 'ok'))));
        await settleAll(calls);
        return { admitted: limiters.map((_, i) => calls.slice(i * n, (i + 1) * n).filter((c) => c.ok).length), calls };
      };

      it("store errors: 'local' goes on with a local bucket, storeError and storeRecovered once each, then the fleet's bucket again", async () => {
        const limit = 10;
        const { sick, limiters, events } = await twoSeen(limit, 100_000, 'local'); // no refill during the test
        sick.fault('error');
        const during = await burstEach(limiters, 20);
        // Each instance admits a local share (at least 1, at most `limit`); nothing fails but with RateLimitedError.
        for (const n of during.admitted) {
          expect(n).toBeGreaterThanOrEqual(1);
          expect(n).toBeLessThanOrEqual(limit);
        }
        expect(during.calls.filter((c) => !c.ok && !(c.error instanceof RateLimitedError))).toEqual([]);
        for (const e of events) expect(e.errors).toEqual([sick.injected]);

        sick.fault('ok');
        await engine.advance(3_000); // the background probe finds the store again
        for (const e of events) {
          expect(e.errors).toHaveLength(1);
          expect(e.recovered).toHaveLength(1);
          expect(e.recovered[0]).toBeGreaterThan(0);
        }
        // The fleet's bucket again: 10 - the 2 warm-up calls (what was admitted locally never reached it).
        const after = await burstEach(limiters, 10);
        expect(after.admitted[0]! + after.admitted[1]!).toBe(limit - 2);
      });

      it("store errors: 'local' divides `limit` among the instances the store saw, so together they admit no more than `limit`", async () => {
        const limit = 10;
        const { sick, limiters } = await twoSeen(limit, 100_000, 'share');
        // A steady fleet: each has been told of the other since (heartbeats come at most once a second,
        // so an instance that joined first believes itself alone until its next one).
        await engine.advance(1_100);
        const again = await burstEach(limiters, 1);
        expect(again.admitted).toEqual([1, 1]);
        sick.fault('error');
        const { admitted } = await burstEach(limiters, 20);
        // limit / 2 instances each: 5 + 5 (the fleet's bucket had 6 left; a local bucket starts full).
        expect(admitted[0]! + admitted[1]!, `admitted ${admitted.join(' + ')} during the outage`).toBeLessThanOrEqual(limit);
      });

      it("store errors: 'reject' rejects with RateLimitedError caused by the store's error; 'allow' admits", async () => {
        const sick = engine.faulty(TIMEOUT);
        const reject = new RateLimiter({ limit: 1, interval: 100_000, store: sick.store, key: 'modes', onStoreError: 'reject' });
        const allow = new RateLimiter({ limit: 1, interval: 100_000, store: sick.store, key: 'modes', onStoreError: 'allow' });
        sick.fault('error');
        const calls = [observe(() => reject.execute(() => 'ok')), observe(() => reject.execute(() => 'ok'))];
        const allowed = Array.from({ length: 5 }, () => observe(() => allow.execute(() => 'ok')));
        await settleAll([...calls, ...allowed]);
        for (const c of calls) {
          expect(c.error).toBeInstanceOf(RateLimitedError);
          expect((c.error as RateLimitedError).cause).toBe(sick.injected);
        }
        expect(allowed.every((c) => c.ok)).toBe(true);
      });

      it('a store that hangs costs one timeout, then calls go local at once without touching it', async () => {
        const sick = engine.faulty(TIMEOUT);
        const limiter = new RateLimiter({ limit: 1_000, interval: 1_000, store: sick.store, key: 'hang' });
        const warm = observe(() => limiter.execute(() => 'ok'));
        await settleAll([warm]);
        sick.fault('hang');
        const first = observe(() => limiter.execute(() => 'ok'));
        await settleAll([first], 2_000);
        expect(first.ok).toBe(true);
        expect(first.endedAt - first.at).toBeGreaterThanOrEqual(TIMEOUT - slack);
        expect(first.endedAt - first.at).toBeLessThanOrEqual(TIMEOUT + slack);
        const callsBefore = sick.calls;
        const started = performance.now();
        const rest = Array.from({ length: 20 }, () => observe(() => limiter.execute(() => 'ok')));
        await settleAll(rest, 2_000);
        expect(rest.every((c) => c.ok)).toBe(true);
        expect(performance.now() - started).toBeLessThanOrEqual(slack + 5);
        // No operation per call while the store is down (only the background probe may touch it).
        expect(sick.calls - callsBefore).toBeLessThanOrEqual(2);
      });
    });

    describe('CircuitBreaker', () => {

      it('one instance opens the circuit (its consecutive failures): every active instance rejects within syncInterval, without calling fn', async () => {
        const openDuration = 10_000;
        const [b1, b2, b3] = [1, 2, 3].map(() => new CircuitBreaker({ failureThreshold: 3, openDuration, syncInterval: sync, store: engine.store(), key: 'trip' })) as [CircuitBreaker, CircuitBreaker, CircuitBreaker];
        await keepCalling([b2, b3], 3 * sync);
        const fails = Array.from({ length: 3 }, () => observe(() => b1.execute(() => Promise.reject(new Error('boom')))));
        await settleAll(fails);
        expect(b1.state).toBe('open');
        const trippedAt = performance.now();
        const logs = await keepCalling([b2, b3], sync + slack + 100, 10);
        for (const log of logs) {
          const first = log.findIndex(rejectedFast);
          expect(first).toBeGreaterThanOrEqual(0);
          expect(log[first]!.at - trippedAt).toBeLessThanOrEqual(sync + slack);
          expect(log.slice(first).every(rejectedFast)).toBe(true);
          const retryAfter = (log.at(-1)!.error as BrokenCircuitError).retryAfter;
          expect(retryAfter).toBeGreaterThan(openDuration - 2 * sync - 2 * slack - 200);
          expect(retryAfter).toBeLessThanOrEqual(openDuration);
        }
        expect(b2.state).toBe('open');
        expect(b3.state).toBe('open');
      });

      it('an instance idle since before the trip rejects its first call after it, without calling fn', async () => {
        const b1 = new CircuitBreaker({ failureThreshold: 2, openDuration: 10_000, syncInterval: sync, store: engine.store(), key: 'idle' });
        const idle = new CircuitBreaker({ failureThreshold: 2, openDuration: 10_000, syncInterval: sync, store: engine.store(), key: 'idle' });
        await settleAll([observe((mark) => idle.execute(() => (mark(), 'ok')))]);
        await engine.advance(10 * sync);
        await settleAll(Array.from({ length: 2 }, () => observe(() => b1.execute(() => Promise.reject(new Error('boom'))))));
        expect(b1.state).toBe('open');
        await engine.advance(sync + slack);
        const call = observe((mark) => idle.execute(() => (mark(), 'ok')));
        await settleAll([call]);
        expect(call.called).toBe(false);
        expect(call.error).toBeInstanceOf(BrokenCircuitError);
      });

      it("rate thresholds are judged on the fleet's calls: one failing instance is diluted by the others' successes; the fleet failing opens it for all", async () => {
        const options = { failureRateThreshold: 0.5, minimumCalls: 10, windowDuration: 10_000, openDuration: 10_000, syncInterval: sync, key: 'rate' };
        const [sick, b2, b3] = [1, 2, 3].map(() => new CircuitBreaker({ ...options, store: engine.store() })) as [CircuitBreaker, CircuitBreaker, CircuitBreaker];
        await keepCalling([b2, b3], 12 * 20); // 24 successes
        await engine.advance(2 * sync + slack);
        // The sick instance fails 12 times: alone, a local breaker would open (12 of 12 >= 0.5); the fleet's rate is 12 / 36.
        await settleAll(Array.from({ length: 12 }, () => observe(() => sick.execute(() => Promise.reject(new Error('link down'))))));
        await engine.advance(3 * sync + slack);
        expect([sick.state, b2.state, b3.state]).toEqual(['closed', 'closed', 'closed']);
        const still = await keepCalling([b2, b3], 3 * 20);
        expect(still.flat().every((c) => c.ok && c.called)).toBe(true);
        // Now the others fail too, 40 each: whichever sees the rate cross first opens the circuit, for all.
        await settleAll(Array.from({ length: 80 }, (_, i) => observe(() => [b2, b3][i % 2]!.execute(() => Promise.reject(new Error('down'))))));
        await engine.advance(3 * sync + slack);
        expect([sick.state, b2.state, b3.state]).toEqual(['open', 'open', 'open']);
      });

      it('the fleet crossing a rate threshold opens the circuit, also when no instance saw the crossing in its own calls', async () => {
        const options = { failureRateThreshold: 0.5, minimumCalls: 10, windowDuration: 10_000, openDuration: 10_000, syncInterval: sync, key: 'crossing' };
        const [b1, b2] = [1, 2].map(() => new CircuitBreaker({ ...options, store: engine.store() })) as [CircuitBreaker, CircuitBreaker];
        // 10 successes each, and the fleet knows them all.
        await settleAll(Array.from({ length: 20 }, (_, i) => observe(() => [b1, b2][i % 2]!.execute(() => 'ok'))));
        await engine.advance(3 * sync + slack);
        // Then 10 failures each, between two syncs: each sees 10 of its 30 calls known so far fail (0.33);
        // the fleet's window holds 20 failures of 40 calls, 0.5, the threshold. No more calls come.
        await settleAll(Array.from({ length: 20 }, (_, i) => observe(() => [b1, b2][i % 2]!.execute(() => Promise.reject(new Error('down'))))));
        await engine.advance(3 * sync + slack);
        expect([b1.state, b2.state]).toEqual(['open', 'open']);
      });

      it('half-open: at most halfOpenMaxCalls trials at once across the fleet; successThreshold counts the fleet’s successful trials', async () => {
        const openDuration = 500;
        const breakers = [1, 2, 3, 4, 5].map(
          () => new CircuitBreaker({ failureThreshold: 1, openDuration, halfOpenMaxCalls: 2, successThreshold: 2, syncInterval: sync, store: engine.store(), key: 'half' }),
        );
        await settleAll([observe(() => breakers[0]!.execute(() => Promise.reject(new Error('boom'))))]);
        await engine.advance(openDuration + 2 * sync + slack);
        const release: (() => void)[] = [];
        const held = () => new Promise<string>((resolve) => release.push(() => resolve('ok')));
        const trials: Call[] = [];
        for (let round = 0; round < 3; round++) {
          for (const b of breakers) trials.push(observe((mark) => b.execute(() => (mark(), held()))));
          await engine.advance(engine.fake ? 5 : 30);
        }
        await engine.advance(engine.fake ? 5 : 50);
        const started = trials.filter((c) => c.called);
        expect(started.length).toBeGreaterThanOrEqual(1);
        expect(started.length).toBeLessThanOrEqual(2);
        expect(trials.filter((c) => !c.called).every(rejectedFast)).toBe(true);
        // The trials succeed: the fleet closes (if only one ran, one more trial is needed first).
        for (const go of release.splice(0)) go();
        await settleAll(started);
        const after = await keepCalling(breakers, 4 * sync + 2 * slack);
        for (const [i, log] of after.entries()) {
          expect(log.slice(-2).every((c) => c.ok && c.called), `instance ${i + 1}`).toBe(true);
          expect(breakers[i]!.state).toBe('closed');
        }
      });

      it('a hung trial holds its lease for openDuration, then another instance may try', async () => {
        const openDuration = 400;
        const [b1, b2] = [1, 2].map(() => new CircuitBreaker({ failureThreshold: 1, openDuration, halfOpenMaxCalls: 1, syncInterval: sync, store: engine.store(), key: 'hung' })) as [CircuitBreaker, CircuitBreaker];
        await settleAll([observe(() => b1.execute(() => Promise.reject(new Error('boom'))))]);
        await engine.advance(openDuration + 2 * sync + slack);
        const hung = observe((mark) => b1.execute(() => (mark(), new Promise(() => {}))));
        await engine.advance(engine.fake ? 5 : 50);
        expect(hung.called).toBe(true);
        // Within the lease: no second trial anywhere.
        const early = observe((mark) => b2.execute(() => (mark(), 'ok')));
        await settleAll([early]);
        expect(rejectedFast(early)).toBe(true);
        // After it: a new trial is admitted (and, succeeding, closes the circuit).
        await engine.advance(openDuration + 2 * sync + slack);
        const late = observe((mark) => b2.execute(() => (mark(), 'ok')));
        await settleAll([late]);
        expect(late.called).toBe(true);
        expect(late.ok).toBe(true);
      });

      it('a failed trial reopens the circuit for every instance', async () => {
        const openDuration = 400;
        const [b1, b2, b3] = [1, 2, 3].map(() => new CircuitBreaker({ failureThreshold: 1, openDuration, syncInterval: sync, store: engine.store(), key: 'reopen' })) as [CircuitBreaker, CircuitBreaker, CircuitBreaker];
        await settleAll([observe(() => b1.execute(() => Promise.reject(new Error('boom'))))]);
        await engine.advance(openDuration + 2 * sync + slack);
        const trial = observe((mark) => b3.execute(() => (mark(), Promise.reject(new Error('still down')))));
        await settleAll([trial]);
        expect(trial.called).toBe(true);
        await engine.advance(sync + slack);
        for (const b of [b1, b2, b3]) {
          const c = observe((mark) => b.execute(() => (mark(), 'ok')));
          await settleAll([c]);
          expect(rejectedFast(c)).toBe(true);
          expect((c.error as BrokenCircuitError).retryAfter).toBeGreaterThan(openDuration - (sync + slack) - 50);
        }
      });

      it('isolate() and reset() act on the fleet', async () => {
        const [b1, b2, b3] = [1, 2, 3].map(() => new CircuitBreaker({ failureThreshold: 1, openDuration: 60_000, syncInterval: sync, store: engine.store(), key: 'isolate' })) as [CircuitBreaker, CircuitBreaker, CircuitBreaker];
        await keepCalling([b2, b3], 2 * sync);
        const release = b1.isolate();
        await keepCalling([b2, b3], sync + slack);
        for (const b of [b2, b3]) {
          const c = observe((mark) => b.execute(() => (mark(), 'ok')));
          await settleAll([c]);
          expect(c.called).toBe(false);
          expect(c.error).toBeInstanceOf(IsolatedCircuitError);
          expect(b.state).toBe('isolated');
        }
        release();
        await keepCalling([b2, b3], sync + slack);
        const freed = await keepCalling([b1, b2, b3], 40);
        expect(freed.flat().every((c) => c.ok && c.called)).toBe(true);

        // Trip it from b1, reset it from b2: all three admit again.
        await settleAll([observe(() => b1.execute(() => Promise.reject(new Error('boom'))))]);
        await keepCalling([b2, b3], sync + slack);
        expect([b1.state, b2.state, b3.state]).toEqual(['open', 'open', 'open']);
        b2.reset();
        await keepCalling([b1, b3], sync + slack);
        const reset = await keepCalling([b1, b2, b3], 40);
        expect(reset.flat().every((c) => c.ok && c.called)).toBe(true);
      });
    });

    describe('RetryBudget', () => {
      it('one floor for the fleet: four instances retrying all the time get about minRetriesPerSecond together, not four times it', async () => {
        const window = 1_000;
        const floor = 5; // minRetriesPerSecond 5 over a 1 s window
        const budgets = [1, 2, 3, 4].map(() => new RetryBudget({ ratio: 0, minRetriesPerSecond: floor, window, store: engine.store(), key: 'floor' }));
        // Warm up: each is used and has synced with the fleet.
        for (let t = 0; t < window; t += 50) {
          for (const b of budgets) b.onFirstAttempt();
          await engine.advance(50);
        }
        let allowed = 0;
        const windows = 2;
        for (let t = 0; t < windows * window; t += 50) {
          for (const b of budgets) {
            b.onFirstAttempt();
            if (b.tryRetry()) allowed++;
          }
          await engine.advance(50);
        }
        console.log(`[fleet budget ${engine.fake ? 'memory' : 'redis'}] 4 instances, floor ${floor} per ${window} ms, ${windows} windows: ${allowed} retries allowed (one floor: ${windows * floor}; four floors: ${4 * windows * floor})`);
        expect(allowed).toBeGreaterThanOrEqual(Math.floor(0.5 * windows * floor));
        expect(allowed).toBeLessThanOrEqual(Math.ceil(1.5 * windows * floor) + budgets.length);
      });

      it("the ratio holds for the fleet's calls together: an instance without first attempts of its own may retry on the others'", async () => {
        const window = 10_000;
        const [busy, quiet] = [1, 2].map(() => new RetryBudget({ ratio: 0.5, minRetriesPerSecond: 0, window, store: engine.store(), key: 'ratio' })) as [RetryBudget, RetryBudget];
        for (let t = 0; t < 1_500; t += 50) {
          for (let i = 0; i < 4; i++) busy.onFirstAttempt(); // 120 first attempts in all
          quiet.tryRetry();
          await engine.advance(50);
        }
        let allowed = 0;
        for (let t = 0; t < 1_000; t += 50) {
          for (let i = 0; i < 5; i++) if (quiet.tryRetry()) allowed++;
          await engine.advance(50);
        }
        // 0.5 x 120 = 60 retries for the fleet (the quiet one's early tries included); a local budget would allow none.
        expect(allowed).toBeGreaterThanOrEqual(10);
        expect(allowed).toBeLessThanOrEqual(61);
      });
    });

    describe('options', () => {
      it('`store` needs a non-empty string `key`: a TypeError naming it, at once', () => {
        const store = engine.store();
        const make = [
          (key?: unknown) => new RateLimiter({ limit: 1, interval: 1_000, store, key: key as string }),
          (key?: unknown) => new CircuitBreaker({ store, key: key as string }),
          (key?: unknown) => new RetryBudget({ store, key: key as string }),
        ];
        for (const m of make) {
          for (const bad of [undefined, '', 42]) expect(() => m(bad)).toThrow(TypeError);
          expect(() => m(undefined)).toThrow(/key/);
          expect(() => m('ok')).not.toThrow();
        }
        expect(() => new CircuitBreaker({ store, key: 'k', syncInterval: -1 })).toThrow(/syncInterval/);
        expect(() => new CircuitBreaker({ store, key: 'k', syncInterval: Number.NaN })).toThrow(/syncInterval/);
      });

      it('createRedisStore checks its options at once', () => {
        expect(() => createRedisStore(undefined as never)).toThrow(TypeError);
        expect(() => createRedisStore({} as never)).toThrow(/send/);
        const send = () => Promise.resolve(null);
        expect(() => createRedisStore({ send, prefix: 42 as never })).toThrow(/prefix/);
        expect(() => createRedisStore({ send, timeout: 0 })).toThrow(/timeout/);
        expect(() => createRedisStore({ send, timeout: -5 })).toThrow(RangeError);
        expect(() => createRedisStore({ send, timout: 5 } as never)).toThrow(/timout/);
        expect(() => createRedisStore({ send })).not.toThrow();
      });
    });

    describe('abort', () => {
      it("a caller's abort while the store is slow rejects with its reason at once and is no store failure", async () => {
        const sick = engine.faulty(TIMEOUT);
        const limiter = new RateLimiter({ limit: 100, interval: 1_000, store: sick.store, key: 'abort' });
        const errors: unknown[] = [];
        limiter.on('storeError', ({ error }) => errors.push(error));
        await settleAll([observe(() => limiter.execute(() => 'ok'))]);
        sick.fault('hang');
        const controller = new AbortController();
        const reason = new Error('caller gave up');
        const call = observe((mark) => limiter.execute(() => (mark(), 'ok'), controller.signal));
        await engine.advance(10);
        controller.abort(reason);
        await settleAll([call], 1_000);
        expect(call.error).toBe(reason);
        expect(call.called).toBe(false);
        expect(call.endedAt - call.at).toBeLessThanOrEqual(10 + slack);
        expect(errors).toEqual([]);
        // The next call, without a signal, meets the hung store: one timeout, then local, and the outage begins.
        const next = observe(() => limiter.execute(() => 'ok'));
        await settleAll([next], 2_000);
        expect(next.ok).toBe(true);
        expect(errors).toHaveLength(1);
      });
    });

    describe('when the store fails', () => {
      it('limiter, breaker and budget go on locally; each emits storeError once per outage and storeRecovered once; nothing waits past the timeout', async () => {
        const sick = engine.faulty(TIMEOUT);
        const limiter = new RateLimiter({ limit: 1_000, interval: 1_000, store: sick.store, key: 'sick' });
        const breaker = new CircuitBreaker({ failureThreshold: 3, syncInterval: sync, store: sick.store, key: 'sick' });
        const budget = new RetryBudget({ window: 1_000, store: sick.store, key: 'sick' });
        const events: string[] = [];
        limiter.on('storeError', () => events.push('limiter storeError'));
        limiter.on('storeRecovered', () => events.push('limiter storeRecovered'));
        breaker.on('storeError', () => events.push('breaker storeError'));
        breaker.on('storeRecovered', () => events.push('breaker storeRecovered'));
        budget.on('storeError', () => events.push('budget storeError'));
        budget.on('storeRecovered', () => events.push('budget storeRecovered'));

        const traffic = async (ms: number): Promise<Call[]> => {
          const calls: Call[] = [];
          const until = performance.now() + ms;
          while (performance.now() < until) {
            budget.onFirstAttempt();
            budget.tryRetry();
            calls.push(observe((mark) => breaker.execute(() => limiter.execute(() => (mark(), 'ok')))));
            await engine.advance(20);
          }
          await settleAll(calls);
          return calls;
        };
        const count = (name: string) => events.filter((e) => e === name).length;
        const check = (calls: Call[]) => {
          expect(calls.filter((c) => !c.ok)).toEqual([]);
          expect(Math.max(...calls.map((c) => c.endedAt - c.at))).toBeLessThanOrEqual(TIMEOUT + slack);
        };

        check(await traffic(300));
        expect(events).toEqual([]);
        for (const [outage, mode] of [[1, 'hang'], [2, 'error']] as const) {
          sick.fault(mode);
          check(await traffic(500));
          for (const p of ['limiter', 'breaker', 'budget']) expect(count(`${p} storeError`), `${p} in outage ${outage} (${mode})`).toBe(outage);
          for (const p of ['limiter', 'breaker', 'budget']) expect(count(`${p} storeRecovered`)).toBe(outage - 1);
          sick.fault('ok');
          check(await traffic(2_500));
          for (const p of ['limiter', 'breaker', 'budget']) expect(count(`${p} storeRecovered`), `${p} after outage ${outage}`).toBe(outage);
          for (const p of ['limiter', 'breaker', 'budget']) expect(count(`${p} storeError`)).toBe(outage);
        }
      });

      it('an instance with a sick store opens its breaker on its own window, the healthy fleet stays closed', async () => {
        const sick = engine.faulty(TIMEOUT);
        const options = { failureThreshold: 3, openDuration: 10_000, syncInterval: 100, key: 'alone' };
        const lonely = new CircuitBreaker({ ...options, store: sick.store });
        const healthy = new CircuitBreaker({ ...options, store: engine.store() });
        await keepCalling([lonely, healthy], 200);
        sick.fault('error');
        await settleAll(Array.from({ length: 3 }, () => observe(() => lonely.execute(() => Promise.reject(new Error('boom'))))));
        expect(lonely.state).toBe('open');
        await engine.advance(300 + slack);
        expect(healthy.state).toBe('closed');
        const c = observe((mark) => healthy.execute(() => (mark(), 'ok')));
        await settleAll([c]);
        expect(c.ok && c.called).toBe(true);
      });
    });

    if (engine.keys) {
      it('every key the stores left has their prefix, then the policy key in braces, and a TTL', async () => {
        const keys = await engine.keys!();
        expect(keys.length).toBeGreaterThan(0);
        // (Which keys share a hash slot is the odd-keys test's business.)
        const bad = keys.filter(({ key, pttl }) => !/^bw-behaviour:\d+:\{.+\}/.test(key) || !(pttl > 0));
        expect(bad).toEqual([]);
      });
    }
  });
}
