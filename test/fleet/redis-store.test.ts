// The Redis backend against a real redis-server, with the tests' own counter op
// (test/fleet/harness/counter-op.ts): scripts by EVALSHA, a lost script cache
// without a failed call, replies from clients that give integers as strings,
// every key prefixed, hash-tagged and expiring, the store's timeout and probe.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TimeoutError } from '../../src/errors.js';
import { redisBackend, createRedisStore } from '../../src/store/redis.js';
import { createStore } from '../../src/store/store.js';
import type { StoreBackend } from '../../src/store/types.js';
import { count, counterOps } from './harness/counter-op.js';
import { allKeys, describeRedis, startRedis, type RedisServer } from './harness/redis-server.js';
import { connect, type RespClient } from '../../examples/fleet/resp.js';

/** `INFO commandstats` as { command: calls }, and `INFO errorstats` as { error: count }. */
async function stats(redis: RedisServer): Promise<{ calls: Record<string, number>; errors: Record<string, number> }> {
  const text = `${String(await redis.command('INFO', 'commandstats'))}\n${String(await redis.command('INFO', 'errorstats'))}`;
  const calls: Record<string, number> = {};
  const errors: Record<string, number> = {};
  for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls[m[1]!] = Number(m[2]);
  for (const m of text.matchAll(/^errorstat_([^:]+):count=(\d+)/gm)) errors[m[1]!] = Number(m[2]);
  return { calls, errors };
}

/** Every integer in a reply as a string and every nil as undefined, as some clients give them. */
function stringly(value: unknown): unknown {
  if (typeof value === 'number') return String(value);
  if (value === null) return undefined;
  if (Array.isArray(value)) return value.map(stringly);
  return value;
}

describeRedis('createRedisStore against redis-server', () => {
  let redis: RedisServer;
  let client: RespClient;
  let backend: StoreBackend;
  const req = (who = 'a') => ({ by: 1, ttl: 60_000, who });

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(() => redis.stop());
  beforeEach(async () => {
    await redis.command('FLUSHALL');
    await redis.command('SCRIPT', 'FLUSH');
    await redis.command('CONFIG', 'RESETSTAT');
    client = connect(redis.port, { offlineQueue: true });
    backend = redisBackend(client.send, 'breakwater:', counterOps);
  });
  afterEach(() => client.close());

  it('runs the script once by EVAL, learning its hash, then by EVALSHA', async () => {
    for (let i = 1; i <= 10; i++) expect((await count(backend, 'k', req())).count).toBe(i);
    const { calls } = await stats(redis);
    expect(calls['eval']).toBe(1);
    expect(calls['script|load']).toBe(1);
    expect(calls['evalsha']).toBe(9);
  });

  it('many first calls at once load the script once', async () => {
    const replies = await Promise.all(Array.from({ length: 50 }, () => count(backend, 'k', req())));
    expect(replies.map((r) => r.count).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect((await stats(redis)).calls['script|load']).toBe(1);
  });

  it('SCRIPT FLUSH mid-run fails no call: NOSCRIPT is answered by EVAL in the same call', async () => {
    await count(backend, 'k', req());
    await count(backend, 'k', req());
    let n = 2;
    const results: Promise<unknown>[] = [];
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 10; i++) results.push(count(backend, 'k', req()));
      if (round === 10) results.push(redis.command('SCRIPT', 'FLUSH'));
      await new Promise((r) => setTimeout(r, 1));
    }
    const settled = await Promise.allSettled(results);
    expect(settled.filter((s) => s.status === 'rejected')).toEqual([]);
    n += 200;
    expect((await count(backend, 'k', req())).count).toBe(n + 1);
    const { calls, errors } = await stats(redis);
    expect(errors['NOSCRIPT']).toBeGreaterThan(0);
    expect(calls['eval']).toBeGreaterThan(1);
  });

  it('a kill -9 and restart (empty script cache) fails no call once the server is back', async () => {
    await count(backend, 'k', req());
    await count(backend, 'k', req());
    await redis.kill9();
    const during = count(backend, 'k', req()); // queued by the client while the server is away
    await redis.restart();
    expect((await during).count).toBe(1);
    expect((await count(backend, 'k', req())).count).toBe(2);
  });

  it('works with a client that gives integers as strings and nil as undefined', async () => {
    const odd = redisBackend(async (c, a) => stringly(await client.send(c, a)), 'breakwater:', counterOps);
    for (let i = 1; i <= 3; i++) {
      const r = await count(odd, 'k', req());
      expect(r.count).toBe(i);
      expect(r.missing).toBeNull();
      expect(r.ttl).toBeGreaterThan(59_000);
    }
    await expect(odd.ping()).resolves.toBe('PONG');
  });

  it('works with a client that gives bulk strings as bytes', async () => {
    const bytes = (v: unknown): unknown => (typeof v === 'string' ? new TextEncoder().encode(v) : Array.isArray(v) ? v.map(bytes) : v);
    const raw = redisBackend(async (c, a) => bytes(await client.send(c, a)), 'breakwater:', counterOps);
    await count(raw, 'k', req());
    expect((await count(raw, 'k', req())).keys).toEqual(['breakwater:{k}', 'breakwater:{k}:who', 'breakwater:{k}:never']);
    expect((await stats(redis)).calls['evalsha']).toBe(1);
  });

  it('names every key prefix + {key} + suffix, and every key it leaves has a TTL', async () => {
    const custom = redisBackend(client.send, 'app:bw:', counterOps);
    const r = await count(custom, 'api.example.com', req());
    expect(r.keys).toEqual(['app:bw:{api.example.com}', 'app:bw:{api.example.com}:who', 'app:bw:{api.example.com}:never']);
    await count(backend, 'payments', req(), 'breaker');
    await count(backend, 'payments', req(), 'budget');
    const keys = await allKeys(redis);
    expect([...keys.keys()].sort()).toEqual(['app:bw:{api.example.com}', 'app:bw:{api.example.com}:who', 'breakwater:{payments}', 'breakwater:{payments}:who']);
    for (const [key, ttl] of keys) {
      expect(key).toMatch(/^(app:bw:|breakwater:)\{[^}]+\}/);
      expect(ttl, key).toBeGreaterThan(0);
    }
  });

  it('a server error other than NOSCRIPT rejects with it, without a retry', async () => {
    await redis.command('SET', 'breakwater:{str}', 'not a number');
    await count(backend, 'k', req()); // learn the hash
    await expect(count(backend, 'str', req())).rejects.toThrow(/not an integer/);
    expect((await stats(redis)).calls['eval']).toBe(1);
  });

  it('ping is PING', async () => {
    await expect(backend.ping()).resolves.toBe('PONG');
    expect((await stats(redis)).calls['ping']).toBe(1);
  });

  it("createRedisStore runs the policies' own ops (the rate limiter's GCRA), keys prefixed and expiring", async () => {
    const store = createRedisStore({ send: client.send, prefix: 'svc:' });
    const request = { limit: 2, interval: 60_000, maxWait: 0, instance: 'i1', window: 10_000 };
    const admitted: boolean[] = [];
    for (let i = 0; i < 3; i++) admitted.push((await store.link.run((b) => b.rateLimit('api', request))).admitted);
    expect(admitted).toEqual([true, true, false]);
    const keys = await allKeys(redis);
    expect([...keys.keys()].sort()).toEqual(['svc:{api}', 'svc:{api}:i']);
    for (const [key, ttl] of keys) expect(ttl, key).toBeGreaterThan(0);
    expect((await stats(redis)).calls['evalsha']).toBe(2);
  });

  describe('through the store link', () => {
    it('a paused server is a timeout at the store timeout, then the probe finds it again', async () => {
      const store = createStore(backend, { timeout: 50 });
      expect((await store.link.run((b) => count(b, 'k', req()))).count).toBe(1);
      await redis.pause(400);
      const started = performance.now();
      await expect(store.link.run((b) => count(b, 'k', req()))).rejects.toBeInstanceOf(TimeoutError);
      const took = performance.now() - started;
      expect(took).toBeGreaterThanOrEqual(45);
      expect(took).toBeLessThan(150);
      expect(store.link.down).toBe(true);
      // While down, refused at once.
      const refused = performance.now();
      await expect(store.link.run((b) => count(b, 'k', req()))).rejects.toBeInstanceOf(TimeoutError);
      expect(performance.now() - refused).toBeLessThan(10);
      const downtime = await new Promise<number>((resolve) => store.link.onUp(resolve));
      expect(downtime).toBeGreaterThan(300);
      expect(downtime).toBeLessThan(2_000);
      expect((await store.link.run((b) => count(b, 'k', req()))).count).toBeGreaterThanOrEqual(2);
    });

    it('a dead server: no call waits beyond the timeout; the store comes back by itself after restart', async () => {
      const store = createStore(backend, { timeout: 50 });
      await store.link.run((b) => count(b, 'k', req()));
      await redis.kill9();
      let slowest = 0;
      for (let i = 0; i < 20; i++) {
        const t = performance.now();
        await store.link.run((b) => count(b, 'k', req())).catch(() => {});
        slowest = Math.max(slowest, performance.now() - t);
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(slowest).toBeLessThan(120);
      expect(store.link.down).toBe(true);
      const up = new Promise<number>((resolve) => store.link.onUp(resolve));
      await redis.restart();
      await up;
      expect(store.link.down).toBe(false);
      // The restarted server lost its scripts and data: NOSCRIPT is handled in the call.
      expect((await store.link.run((b) => count(b, 'k', req()))).count).toBeGreaterThanOrEqual(1);
    });
  });
});

describe('createRedisStore options', () => {
  const send = async () => 'OK';

  it('builds a store with the given timeout (default 50)', () => {
    expect(createRedisStore({ send }).link.timeout).toBe(50);
    expect(createRedisStore({ send, prefix: 'x:', timeout: 250 }).link.timeout).toBe(250);
    expect(createRedisStore({ send, prefix: undefined, timeout: undefined }).link.timeout).toBe(50);
  });

  it('refuses a missing or wrong send', () => {
    const make = createRedisStore as (o?: unknown) => unknown;
    expect(() => make()).toThrow(new TypeError('createRedisStore: option "send" is required'));
    expect(() => make({})).toThrow(new TypeError('createRedisStore: option "send" is required'));
    expect(() => make({ send: 'redis' })).toThrow(new TypeError(`createRedisStore: option "send" must be a function, got 'redis'`));
    expect(() => make(null)).toThrow(TypeError);
  });

  it('refuses a prefix that is not a string', () => {
    expect(() => createRedisStore({ send, prefix: 1 as never })).toThrow(new TypeError('createRedisStore: option "prefix" must be a string, got 1'));
  });

  it('refuses a timeout that is not a finite number above 0', () => {
    for (const timeout of [0, -1, Number.NaN, Infinity]) {
      expect(() => createRedisStore({ send, timeout })).toThrow(RangeError);
    }
    expect(() => createRedisStore({ send, timeout: 0 })).toThrow('createRedisStore: option "timeout" must be a number in (0, Infinity), got 0');
    expect(() => createRedisStore({ send, timeout: '50' as never })).toThrow(TypeError);
  });

  it('refuses an unknown option, naming the nearest', () => {
    expect(() => createRedisStore({ send, timout: 10 } as never)).toThrow(new TypeError(`createRedisStore: unknown option 'timout', did you mean 'timeout'?`));
  });
});
