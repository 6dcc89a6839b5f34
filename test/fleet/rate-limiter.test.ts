// The fleet RateLimiter against a real redis-server, in one process: limiters
// on separate connections sharing a key, as instances of a fleet would. (The
// multi-process suite — kill -9, CLIENT PAUSE, a skewed clock — is
// test/fleet/faults*; this one is about the limiter's decisions.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RateLimitedError } from '../../src/errors.js';
import { seededRandom } from '../../src/internal/random.js';
import { RateLimiter, type RateLimiterOptions } from '../../src/rate-limiter.js';
import { MemoryKVImpl } from '../../src/store/memory.js';
import { rateLimitReplies } from '../../src/store/rate-limit-lua.js';
import { rateLimitOp, type RateLimitReply, type RateLimitRequest } from '../../src/store/rate-limit-op.js';
import { createRedisStore } from '../../src/store/redis.js';
import type { Store } from '../../src/store/types.js';
import { describeRedis, startRedis, type RedisServer } from './harness/redis-server.js';
import { connect, type RespClient } from '../../examples/fleet/resp.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Admitted (true) or the rejection's retryAfter. */
async function attempt(limiter: RateLimiter, fn: () => unknown = () => undefined): Promise<number | true> {
  try {
    await limiter.execute(fn);
    return true;
  } catch (error) {
    if (!(error instanceof RateLimitedError)) throw error;
    return error.retryAfter;
  }
}

describeRedis('fleet RateLimiter on redis-server', () => {
  let redis: RedisServer;
  const clients: RespClient[] = [];
  let test = 0;
  let prefix = '';

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await redis.stop();
  });

  /** A store on a connection of its own, with this test's prefix; `broken()` makes its `send` fail while true. */
  function store(broken: () => boolean = () => false, timeout = 200): Store {
    const client = connect(redis.port);
    clients.push(client);
    return createRedisStore({
      send: (command, args) => (broken() ? Promise.reject(new Error('ECONNREFUSED (test)')) : client.send(command, args)),
      prefix,
      timeout,
    });
  }

  const limiterOn = (s: Store, options: Partial<RateLimiterOptions> = {}) =>
    new RateLimiter({ limit: 50, interval: 60_000, store: s, key: 'api', ...options });

  /** Scripts run so far, by INFO commandstats (EVALSHA and EVAL). */
  async function scriptCalls(): Promise<number> {
    const info = String(await redis.command('INFO', 'commandstats'));
    let total = 0;
    for (const m of info.matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+)/gm)) total += Number(m[1]);
    return total;
  }

  beforeAll(() => undefined);
  // A fresh prefix per test: no test sees another's bucket.
  const fresh = () => {
    prefix = `bw-rl-${++test}:`;
  };

  it('admits exactly limit of 200 concurrent calls spread over 3 limiters on 3 connections', async () => {
    fresh();
    const limiters = [store(), store(), store()].map((s) => limiterOn(s));
    let ran = 0;
    const outcomes = await Promise.all(Array.from({ length: 200 }, (_, i) => attempt(limiters[i % 3]!, () => ran++)));
    const admitted = outcomes.filter((o) => o === true).length;
    expect(admitted).toBe(50);
    expect(ran).toBe(50);
    // The token after the 50th is due 60 000 / 50 = 1 200 ms after the burst began.
    const waits = outcomes.filter((o): o is number => o !== true);
    expect(waits).toHaveLength(150);
    for (const w of waits) {
      expect(w).toBeGreaterThan(1_000);
      expect(w).toBeLessThanOrEqual(1_200);
    }
  });

  it("sends one limiter's calls of one tick as one script, which admits exactly limit of them in call order", async () => {
    fresh();
    const limiter = limiterOn(store(), { limit: 20 });
    await attempt(limiter); // the first call: the script's hash is learned
    const before = await scriptCalls();
    const outcomes = await Promise.all(Array.from({ length: 60 }, () => attempt(limiter)));
    expect(outcomes.slice(0, 19).every((o) => o === true)).toBe(true);
    expect(outcomes.slice(19).every((o) => o !== true)).toBe(true);
    expect((await scriptCalls()) - before).toBe(1);
  });

  it('keeps the TAT key expiring when its TAT falls due, whether or not a write moved the expiry', async () => {
    fresh();
    // 500 µs per token: two calls share each ms the TAT falls due in, so every other write keeps the TTL;
    // one call after another, faster than tokens come, so the TAT runs ahead.
    const limiter = limiterOn(store(), { limit: 2_000, interval: 1_000 });
    const key = `${prefix}{api}`;
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 400; i++) expect(await attempt(limiter)).toBe(true);
      const [value, pttl, time] = (await Promise.all([redis.command('GET', key), redis.command('PTTL', key), redis.command('TIME')])) as [string, number, [string, string]];
      const [q, r] = value.split(':').map(Number) as [number, number | undefined];
      const now = Number(time[0]) * 1e6 + Number(time[1]);
      // When the bucket is full again, to the ms (the TAT's ms rounded up; a ms either way for the reads' own timing).
      const due = Math.ceil((q + (r ? 1 : 0) - now) / 1_000);
      expect(due).toBeGreaterThan(10);
      expect(pttl).toBeGreaterThanOrEqual(due - 1);
      expect(pttl).toBeLessThanOrEqual(due + 1);
    }
  });

  it('says exactly when the next token is due, and admits it then', async () => {
    fresh();
    const [a, b] = [limiterOn(store(), { limit: 2, interval: 400 }), limiterOn(store(), { limit: 2, interval: 400 })];
    expect(await attempt(a!)).toBe(true);
    expect(await attempt(b!)).toBe(true);
    const retryAfter = await attempt(a!);
    expect(typeof retryAfter).toBe('number');
    expect(retryAfter).toBeGreaterThan(150);
    expect(retryAfter).toBeLessThanOrEqual(200);
    // b was not refused itself: it asks the store, which refuses it too.
    expect(await attempt(b!)).not.toBe(true);
    await sleep((retryAfter as number) + 5);
    expect(await attempt(b!)).toBe(true);
  });

  it('reserves tokens fleet-wide within maxWait and turns away a call due later', async () => {
    fresh();
    const options = { limit: 1, interval: 150, maxWait: 400 };
    const [a, b] = [limiterOn(store(), options), limiterOn(store(), options)];
    const t0 = performance.now();
    const started: number[] = [];
    const calls = [a, b, a].map((limiter) => limiter!.execute(() => started.push(performance.now() - t0)));
    await sleep(20);
    // Three tokens at 0, 150 and 300 ms; the fourth would be due at 450 > 400 ms of maxWait.
    const fourth = await attempt(b!);
    expect(typeof fourth).toBe('number');
    expect(fourth).toBeGreaterThan(400);
    expect(fourth).toBeLessThanOrEqual(450);
    await Promise.all(calls);
    started.sort((x, y) => x - y);
    expect(started[0]).toBeLessThan(100);
    expect(started[1]).toBeGreaterThanOrEqual(145);
    expect(started[1]).toBeLessThan(250);
    expect(started[2]).toBeGreaterThanOrEqual(295);
    expect(started[2]).toBeLessThan(400);
  });

  it('sends no store command after a refusal until the refused token is due', async () => {
    fresh();
    const limiter = limiterOn(store(), { limit: 1, interval: 600 });
    const rejected: number[] = [];
    limiter.on('rejected', ({ retryAfter }) => rejected.push(retryAfter));
    expect(await attempt(limiter)).toBe(true);
    const refused = await attempt(limiter);
    expect(refused).toBeGreaterThan(500);
    const before = await scriptCalls();
    const outcomes = await Promise.all(Array.from({ length: 500 }, () => attempt(limiter)));
    expect(outcomes.every((o) => typeof o === 'number' && o > 0 && o <= (refused as number))).toBe(true);
    expect(await scriptCalls()).toBe(before);
    expect(rejected).toHaveLength(501);
    await sleep((refused as number) + 5);
    expect(await attempt(limiter)).toBe(true);
    expect(await scriptCalls()).toBe(before + 1);
  });

  it("carries on through a failing store by onStoreError, with storeError once and storeRecovered once, then shares again", async () => {
    fresh();
    let broken = false;
    const isBroken = () => broken;
    const stores = [store(isBroken), store(isBroken), store(isBroken), store(isBroken)];
    const options = { limit: 20, interval: 60_000 };
    const local = stores.map((s) => limiterOn(s, options));
    const allow = limiterOn(stores[0]!, { ...options, onStoreError: 'allow', key: 'allow' });
    const reject = limiterOn(stores[1]!, { ...options, onStoreError: 'reject', key: 'reject' });
    const events: string[] = [];
    local[0]!.on('storeError', ({ error }) => events.push(`storeError: ${(error as Error).message}`));
    local[0]!.on('storeRecovered', ({ downtime }) => events.push(`storeRecovered after ${downtime > 0 ? '>0' : downtime} ms`));
    // Two rounds a heartbeat apart (1 s), so each knows the store saw 4 instances.
    for (const l of local) expect(await attempt(l)).toBe(true);
    await sleep(1_010);
    for (const l of local) expect(await attempt(l)).toBe(true);
    expect(await attempt(allow)).toBe(true);
    expect(await attempt(reject)).toBe(true);

    broken = true;
    // 'local': 20 / 4 instances = 5 each, whatever the fleet's bucket holds (12 left).
    const during = await Promise.all(local.map((l) => Promise.all(Array.from({ length: 8 }, () => attempt(l)))));
    for (const outcomes of during) expect(outcomes.filter((o) => o === true)).toHaveLength(5);
    // 'allow': every call runs; 'reject': every call fails with the store's error as cause.
    expect(await Promise.all(Array.from({ length: 30 }, () => attempt(allow)))).toEqual(Array(30).fill(true));
    const error = await reject.execute(() => 'never').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect((error as RateLimitedError).cause).toEqual(new Error('ECONNREFUSED (test)'));
    expect((error as RateLimitedError).retryAfter).toBe(3_000);

    broken = false;
    // The link probes within ~100 ms; calls then share the fleet's bucket again: 12 tokens left.
    await sleep(250);
    const after = await Promise.all(Array.from({ length: 40 }, (_, i) => attempt(local[i % 4]!)));
    expect(after.filter((o) => o === true)).toHaveLength(12);
    expect(events).toEqual(['storeError: ECONNREFUSED (test)', 'storeRecovered after >0 ms']);
  });

  it('writes only keys with the prefix and an expiry, the TAT as whole µs with its fraction', async () => {
    fresh();
    const limiter = limiterOn(store(), { limit: 3, interval: 1_000 });
    expect(await attempt(limiter)).toBe(true);
    const keys = (await redis.command('KEYS', `${prefix}*`)) as string[];
    expect(keys.sort()).toEqual([`${prefix}{api}`, `${prefix}{api}:i`]);
    for (const key of keys) {
      const ttl = (await redis.command('PTTL', key)) as number;
      expect(ttl).toBeGreaterThan(0);
    }
    // One token of 333 333.33… µs: q:r:l with r = 1 (of 3), l the write's own time; after three, r is 0.
    expect(await redis.command('GET', `${prefix}{api}`)).toMatch(/^\d{16}:1:\d{16}$/);
    // It expires when the bucket is full again: one token's time.
    expect((await redis.command('PTTL', `${prefix}{api}`)) as number).toBeLessThanOrEqual(334);
    expect(await attempt(limiter)).toBe(true);
    expect(await attempt(limiter)).toBe(true);
    expect(await redis.command('GET', `${prefix}{api}`)).toMatch(/^\d{16}:0:\d{16}$/);
    expect((await redis.command('PTTL', `${prefix}{api}`)) as number).toBeGreaterThan(900);
    // The heartbeat set lives a few intervals (at least 10 s).
    expect((await redis.command('PTTL', `${prefix}{api}:i`)) as number).toBeGreaterThan(9_000);
  });

  describe('the script and its memory twin', () => {
    /**
     * The same requests at the same instants (whole µs) through EVAL and through the twin. The script's
     * TIME is replaced by each instant (everything else is the script as shipped), so the two
     * must agree exactly, wait and all.
     */
    async function both(requests: RateLimitRequest[], at: number[]): Promise<[RateLimitReply[], RateLimitReply[]]> {
      fresh();
      const client = connect(redis.port);
      clients.push(client);
      const keys = [`${prefix}{k}`, `${prefix}{k}:i`];
      expect(rateLimitOp.lua).toContain("redis.call('TIME')");
      const lua: RateLimitReply[] = [];
      const memory: RateLimitReply[] = [];
      const kv = new MemoryKVImpl();
      for (let i = 0; i < requests.length; i++) {
        const us = at[i]!;
        const script = rateLimitOp.lua.replace("redis.call('TIME')", `{ '${Math.floor(us / 1e6)}', '${us % 1e6}' }`);
        lua.push(rateLimitOp.reply(await client.send('EVAL', [script, '2', ...keys, ...rateLimitOp.args(requests[i]!)])));
        kv.now = us / 1_000;
        memory.push(rateLimitOp.memory(kv, keys, requests[i]!, us / 1_000));
      }
      return [lua, memory];
    }

    it.each([
      ['a whole number of µs per token', 4, 1_000, 0],
      ['a fraction of a µs per token', 3, 1_000, 0],
      ['reservations within maxWait', 5, 1_000, 400],
      ['reservations of a fraction of a µs per token', 3, 100, 66.667],
      ['no bound on maxWait', 2, 700, Infinity],
      ['a fractional interval', 7, 999.5, 142.785],
    ])('decide alike with %s', async (_, limit, interval, maxWait) => {
      const random = seededRandom(limit * 1_000 + interval);
      const requests: RateLimitRequest[] = [];
      const at: number[] = [];
      // Bursts, and gaps of whole tokens give or take a µs, so that calls land on and beside
      // the instants tokens fall due: where rounding mistakes would show. From an instant in 2023.
      const I = Math.round(interval * 1_000);
      // Keys expire on the server's own clock, not on these instants: a window longer than the run keeps them all.
      const window = 1_000 * interval;
      let t = 1_700_000_000_000_000;
      for (let i = 0; i < 400; i++) {
        if (random() < 0.4) {
          const exact = (Math.floor(random() * (limit + 1)) * I) / limit;
          t += [Math.floor(exact), Math.ceil(exact), Math.floor(exact) - 1, Math.ceil(exact) + 1][Math.floor(random() * 4)]!;
        }
        at.push(t);
        requests.push({ limit, interval, maxWait, instance: random() < 0.2 ? `i${Math.floor(random() * 5)}` : '', window });
      }
      const [lua, memory] = await both(requests, at);
      expect(lua).toEqual(memory);
      expect(lua.filter((r) => r.admitted).length).toBeGreaterThan(20);
      if (maxWait !== Infinity) expect(lua.filter((r) => !r.admitted).length).toBeGreaterThan(20);
      expect(lua.some((r) => r.wait > 0 && r.admitted)).toBe(maxWait > 0);
      expect(Math.max(...lua.map((r) => r.instances))).toBeGreaterThan(1);
    });

    it.each([
      ['without reservations', 4, 1_000, 0],
      ['a fraction of a µs per token and reservations', 3, 100, 66.667],
      ['no bound on maxWait', 2, 700, Infinity],
    ])('decide alike when the clock steps back (10 min, 5 ms, 1 µs), and refill within interval + maxWait of it, with %s', async (_, limit, interval, maxWait) => {
      const random = seededRandom(limit * 31 + interval);
      const I = Math.round(interval * 1_000);
      const requests: RateLimitRequest[] = [];
      const at: number[] = [];
      let t = 1_700_000_000_000_000;
      const steps = new Map([
        [100, 600_000_000],
        [200, 5_000],
        [300, 1],
      ]);
      for (let i = 0; i < 400; i++) {
        t -= steps.get(i) ?? 0;
        if (random() < 0.3) t += Math.floor((random() * 2 * I) / limit);
        at.push(t);
        requests.push({ limit, interval, maxWait, instance: '', window: 1_000 * interval });
      }
      const [lua, memory] = await both(requests, at);
      expect(lua).toEqual(memory);
      // Drained before each step (calls come faster than tokens); right after it, never a wait past the bound.
      for (const i of steps.keys()) {
        expect(lua[i - 1]!.remaining).toBe(0);
        expect(lua[i]!.wait).toBeLessThanOrEqual(interval + (maxWait === Infinity ? 400 * interval : maxWait));
      }
      expect(lua.filter((r) => r.admitted).length).toBeGreaterThan(20);
    });

    it.each([
      ['a whole number of µs per token', 4, 1_000, 0],
      ['a fraction of a µs per token', 3, 1_000, 0],
      ['reservations of a fraction of a µs per token', 3, 100, 66.667],
      ['no bound on maxWait', 2, 700, Infinity],
    ])('decide n calls in one script as n calls at the same instant, alike, with %s', async (_, limit, interval, maxWait) => {
      fresh();
      const client = connect(redis.port);
      clients.push(client);
      const keys = [`${prefix}{k}`, `${prefix}{k}:i`];
      const kv = new MemoryKVImpl();
      const random = seededRandom(limit * 7 + interval);
      const request: RateLimitRequest = { limit, interval, maxWait, instance: '', window: 1_000 * interval };
      const I = Math.round(interval * 1_000);
      let t = 1_700_000_000_000_000;
      let admitted = 0;
      let turned = 0;
      for (let i = 0; i < 60; i++) {
        t += Math.floor((random() * 2 * I) / limit);
        const n = 1 + Math.floor(random() * 6);
        const script = rateLimitOp.lua.replace("redis.call('TIME')", `{ '${Math.floor(t / 1e6)}', '${t % 1e6}' }`);
        const raw = await client.send('EVAL', [script, '2', ...keys, ...rateLimitOp.args(request), String(n)]);
        const lua = rateLimitReplies(raw, n, false);
        kv.now = t / 1_000;
        const memory = Array.from({ length: n }, () => rateLimitOp.memory(kv, keys, request, t / 1_000));
        expect(lua).toEqual(memory);
        admitted += lua.filter((r) => r.admitted).length;
        turned += lua.filter((r) => !r.admitted).length;
      }
      expect(admitted).toBeGreaterThan(20);
      if (maxWait !== Infinity) expect(turned).toBeGreaterThan(20);
    });

    it.each([
      ['limit 1, interval 1e12 ms, maxWait Infinity', 1, 1e12, Infinity],
      ['limit 1e9, interval 1e12 ms, maxWait 1e12 ms', 1e9, 1e12, 1e12],
      ['limit 1e9, interval 1e-3 ms (1 µs), maxWait Infinity', 1e9, 1e-3, Infinity],
    ])('run at the options’ caps with a store (%s) without a server error, alike', async (_, limit, interval, maxWait) => {
      fresh();
      const client = connect(redis.port);
      clients.push(client);
      const keys = [`${prefix}{k}`, `${prefix}{k}:i`];
      const kv = new MemoryKVImpl();
      const request: RateLimitRequest = { limit, interval, maxWait, instance: 'me', window: Math.max(3 * interval, 10_000) };
      let t = 1_700_000_000_000_000;
      for (let i = 0; i < 4; i++) {
        const script = rateLimitOp.lua.replace("redis.call('TIME')", `{ '${Math.floor(t / 1e6)}', '${t % 1e6}' }`);
        const lua = rateLimitReplies(await client.send('EVAL', [script, '2', ...keys, ...rateLimitOp.args(request), '256']), 256, true);
        kv.now = t / 1_000;
        const memory = Array.from({ length: 256 }, () => rateLimitOp.memory(kv, keys, request, t / 1_000));
        expect(lua.map((r) => ({ ...r, instances: 1 }))).toEqual(memory.map((r) => ({ ...r, instances: 1 })));
        if (i === 0) expect(lua.some((r) => r.admitted)).toBe(true);
        // Every key expires (-2: gone already; -1 would be a key without an expiry).
        for (const key of keys) expect((await client.send('PTTL', [key])) as number).not.toBe(-1);
        t += 1_000_000;
      }
    });

    it('with maxWait Infinity, reserve at most 2^52 µs ahead: the TAT stays exact and its expiry a whole number Redis takes', async () => {
      fresh();
      const client = connect(redis.port);
      clients.push(client);
      const keys = [`${prefix}{k}`, `${prefix}{k}:i`];
      const request: RateLimitRequest = { limit: 1, interval: 1e12, maxWait: Infinity, instance: '', window: 3e12 };
      // 100 000 reservations of 31 years each would put the expiry at 1e17 ms, which Lua hands Redis as '1e+17'.
      let admitted = 0;
      for (let i = 0; i < 400; i++) {
        const raw = await client.send('EVAL', [rateLimitOp.lua, '2', ...keys, ...rateLimitOp.args(request), '256']);
        admitted += rateLimitReplies(raw, 256, false).filter((r) => r.admitted).length;
      }
      expect(admitted).toBe(5); // now, then 4 of 1e15 µs within 2^52 µs
      const [q] = String(await client.send('GET', [keys[0]!])).split(':').map(Number);
      expect(Number.isSafeInteger(q)).toBe(true);
    });

    it('count the instances that sent a heartbeat within the window, alike', async () => {
      fresh();
      const client = connect(redis.port);
      clients.push(client);
      const keys = [`${prefix}{k}`, `${prefix}{k}:i`];
      const ask = async (instance: string) =>
        rateLimitOp.reply(await client.send('EVAL', [rateLimitOp.lua, '2', ...keys, ...rateLimitOp.args({ limit: 100, interval: 1_000, maxWait: 0, instance, window: 100 })]));
      const kv = new MemoryKVImpl();
      const twin = (instance: string, now: number) => {
        kv.now = now;
        return rateLimitOp.memory(kv, keys, { limit: 100, interval: 1_000, maxWait: 0, instance, window: 100 }, now).instances;
      };
      expect([(await ask('a')).instances, (await ask('b')).instances, (await ask('a')).instances, (await ask('')).instances]).toEqual([1, 2, 2, 0]);
      expect([twin('a', 0), twin('b', 1), twin('a', 2), twin('', 3)]).toEqual([1, 2, 2, 0]);
      await sleep(60);
      expect((await ask('c')).instances).toBe(3);
      expect(twin('c', 60)).toBe(3);
      await sleep(60);
      // a and b were last seen 120 ms ago, more than the window.
      expect((await ask('c')).instances).toBe(1);
      expect(twin('c', 120)).toBe(1);
      expect((await client.send('PTTL', [keys[1]!])) as number).toBeLessThanOrEqual(100);
      await sleep(120);
      // Nobody beat for longer than the window: the set expired.
      expect(await redis.command('EXISTS', keys[1]!)).toBe(0);
    });
  });
});
