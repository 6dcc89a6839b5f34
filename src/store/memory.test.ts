import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { count, counterOp, counterOps } from '../../test/fleet/harness/counter-op.js';
import { createMemoryStore, memoryBackend, MemoryKVImpl } from './memory.js';
import { createStore, keyNames } from './store.js';
import type { ScriptOps } from './types.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('memory backend', () => {
  it('names every key as Redis would: prefix, the key in a hash tag, the suffix', async () => {
    const backend = memoryBackend(counterOps);
    const reply = await count(backend, 'api.example.com', { by: 1, ttl: 1_000, who: 'a' });
    expect(reply.keys).toEqual(['breakwater:{api.example.com}', 'breakwater:{api.example.com}:who', 'breakwater:{api.example.com}:never']);
    expect(keyNames('p:', 'k', ['', ':x'])).toEqual(['p:{k}', 'p:{k}:x']);
  });

  it('runs each operation on one shared keyspace', async () => {
    const backend = memoryBackend(counterOps);
    await count(backend, 'k', { by: 1, ttl: 1_000, who: 'a' }, 'rateLimit');
    await count(backend, 'k', { by: 2, ttl: 1_000, who: 'a' }, 'breaker');
    expect((await count(backend, 'k', { by: 3, ttl: 1_000, who: 'a' }, 'budget')).count).toBe(6);
    expect((await count(backend, 'other', { by: 1, ttl: 1_000, who: 'a' })).count).toBe(1);
  });

  it('expires each key its ttl after the write, on Date.now()', async () => {
    const backend = memoryBackend(counterOps);
    await count(backend, 'k', { by: 1, ttl: 100, who: 'a' });
    vi.advanceTimersByTime(99);
    expect((await count(backend, 'k', { by: 1, ttl: 100, who: 'a' })).count).toBe(2);
    vi.advanceTimersByTime(100);
    expect((await count(backend, 'k', { by: 1, ttl: 100, who: 'a' })).count).toBe(1);
  });

  it('hands the op the clock it runs on', async () => {
    vi.setSystemTime(1_700_000_000_000);
    const seen: number[] = [];
    const op = { ...counterOp, memory: (_kv: unknown, _keys: string[], _r: unknown, now: number) => (seen.push(now), { count: 0, ttl: 0, missing: null, keys: [] }) };
    const backend = memoryBackend({ rateLimit: op, breaker: op, budget: op } as unknown as ScriptOps);
    await count(backend, 'k', { by: 1, ttl: 1, who: 'a' });
    vi.advanceTimersByTime(250);
    await count(backend, 'k', { by: 1, ttl: 1, who: 'a' });
    expect(seen).toEqual([1_700_000_000_000, 1_700_000_000_250]);
  });

  it('a throwing op rejects, and the keyspace goes on', async () => {
    const op = { ...counterOp, memory: () => { throw new Error('bug in op'); } };
    const backend = memoryBackend({ ...counterOps, breaker: op } as unknown as ScriptOps);
    await expect(count(backend, 'k', { by: 1, ttl: 1, who: 'a' }, 'breaker')).rejects.toThrow('bug in op');
    expect((await count(backend, 'k', { by: 1, ttl: 10, who: 'a' })).count).toBe(1);
  });

  it('ping resolves', async () => {
    await expect(memoryBackend(counterOps).ping()).resolves.toBe('PONG');
  });
});

describe('MemoryKVImpl', () => {
  it('reads an expired entry as missing and drops it', () => {
    const kv = new MemoryKVImpl();
    kv.now = 1_000;
    kv.set('a', { x: 1 }, 50);
    kv.now = 1_049;
    expect(kv.get('a')).toEqual({ x: 1 });
    kv.now = 1_050;
    expect(kv.get('a')).toBeUndefined();
    expect(kv.size).toBe(0);
    kv.set('b', 1, 10);
    kv.delete('b');
    expect(kv.get('b')).toBeUndefined();
  });

  it('sweeps keys that are never read again, so the keyspace does not grow', () => {
    const kv = new MemoryKVImpl();
    let max = 0;
    for (let i = 0; i < 100_000; i++) {
      kv.now = i;
      kv.set(`key:${i}`, i, 10);
      max = Math.max(max, kv.size);
    }
    // At most what lives at once (10) plus the writes between two sweeps.
    expect(max).toBeLessThanOrEqual(10 + 64);
  });
});

describe('createMemoryStore', () => {
  it('builds a store whose link bounds the memory backend', () => {
    const store = createMemoryStore();
    expect(store.link.timeout).toBe(50);
    expect(store.link.down).toBe(false);
    expect(typeof store.fleet.limiter).toBe('function');
  });

  it('refuses any argument: it takes no options', () => {
    expect(() => (createMemoryStore as (o?: unknown) => unknown)({ prefix: 'x' })).toThrow(new TypeError('createMemoryStore: options must be undefined (it takes none), got an object'));
    expect(() => (createMemoryStore as (o?: unknown) => unknown)(undefined)).not.toThrow();
  });

  it('each memory store has its own keyspace', async () => {
    const a = createStore(memoryBackend(counterOps));
    const b = createStore(memoryBackend(counterOps));
    await a.link.run((backend) => count(backend, 'k', { by: 1, ttl: 1_000, who: 'a' }));
    const reply = await b.link.run((backend) => count(backend, 'k', { by: 1, ttl: 1_000, who: 'b' }));
    expect(reply.count).toBe(1);
  });
});
