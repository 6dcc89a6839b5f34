import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Bulkhead } from './bulkhead.js';
import { CircuitBreaker } from './circuit-breaker.js';
import { BrokenCircuitError } from './errors.js';
import { wrap, type Policy } from './policy.js';
import { PolicyRegistry, type EvictReason } from './registry.js';
import { retryWithBackoff } from './retry.js';
import { withTimeout } from './timeout.js';

function deferred<T = unknown>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((a) => (resolve = a));
  return { promise, resolve };
}

const boom = (): never => {
  throw new Error('boom');
};

/** A registry of breakers that open after one failure, and a log of its evictions as `key:reason`. */
function breakers(options: { maxKeys?: number; idleTimeout?: number } = {}) {
  const evicted: string[] = [];
  const registry = new PolicyRegistry({ create: () => new CircuitBreaker({ failureThreshold: 1, openDuration: 1_000 }), ...options });
  registry.on('evict', ({ key, reason }) => evicted.push(`${key}:${reason}`));
  return { registry, evicted };
}

const keys = (registry: { entries(): Iterable<[string, unknown]> }): string[] => Array.from(registry.entries(), ([key]) => key);

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('PolicyRegistry', () => {
  it('creates a key’s policy on first use, with the key, and returns that same policy afterwards', () => {
    const create = vi.fn((key: string) => Object.assign(new CircuitBreaker(), { key }));
    const registry = new PolicyRegistry({ create });
    const created: string[] = [];
    registry.on('create', ({ key, policy }) => created.push(`${key}=${policy.key}`));
    const a = registry.get('a');
    expect(registry.get('a')).toBe(a);
    expect(registry.get('b')).not.toBe(a);
    expect(create.mock.calls).toEqual([['a'], ['b']]);
    expect(created).toEqual(['a=a', 'b=b']);
    expect(registry.size).toBe(2);
  });

  it('runs execute under the key’s own policy: one key’s open circuit leaves the others closed', async () => {
    const { registry } = breakers();
    await expect(registry.execute('sick', boom)).rejects.toThrow('boom');
    await expect(registry.execute('sick', () => 'never')).rejects.toBeInstanceOf(BrokenCircuitError);
    await expect(registry.execute('healthy', () => 'ok')).resolves.toBe('ok');
    expect(registry.get('sick').state).toBe('open');
    expect(registry.get('healthy').state).toBe('closed');
  });

  it('passes the signal on, and an aborted one rejects without calling fn', async () => {
    const { registry } = breakers();
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    const fn = vi.fn();
    await expect(registry.execute('a', fn, controller.signal)).rejects.toThrow('stop');
    expect(fn).not.toHaveBeenCalled();
  });

  it('refuses a key that is no string with a TypeError naming it: get and has throw, execute rejects', async () => {
    const create = vi.fn(() => new CircuitBreaker());
    const registry = new PolicyRegistry({ create });
    expect(() => registry.get(42 as unknown as string)).toThrow(new TypeError('PolicyRegistry.get: key must be a string, got 42'));
    expect(() => registry.has(undefined as unknown as string)).toThrow(/PolicyRegistry\.has: key must be a string, got undefined/);
    expect(() => registry.delete({} as unknown as string)).toThrow(TypeError);
    const call = registry.execute(new URL('https://a.example') as unknown as string, () => 1);
    await expect(call).rejects.toThrow(new TypeError('PolicyRegistry.execute: key must be a string, got an object'));
    expect(create).not.toHaveBeenCalled();
  });

  it('refuses a create that returns no policy, and stores nothing when create throws', async () => {
    const bad = new PolicyRegistry({ create: () => ({}) as Policy });
    expect(() => bad.get('a')).toThrow(new TypeError('PolicyRegistry: create must return a policy with an execute method, got an object'));
    expect(bad.size).toBe(0);
    const throwing = new PolicyRegistry<Policy>({ create: () => boom() });
    await expect(throwing.execute('a', () => 1)).rejects.toThrow('boom');
    expect(throwing.has('a')).toBe(false);
  });

  it('validates its options when created, naming the option', () => {
    expect(() => new PolicyRegistry(undefined as never)).toThrow(new TypeError('PolicyRegistry: option "create" is required'));
    expect(() => new PolicyRegistry({ create: 'breaker' as never })).toThrow(/option "create" must be a function/);
    for (const maxKeys of [0, -1, 1.5, NaN]) expect(() => new PolicyRegistry({ create: () => new CircuitBreaker(), maxKeys })).toThrow(RangeError);
    for (const idleTimeout of [0, -1, NaN]) expect(() => new PolicyRegistry({ create: () => new CircuitBreaker(), idleTimeout })).toThrow(/idleTimeout/);
    expect(() => new PolicyRegistry({ create: () => new CircuitBreaker(), maxKeys: Infinity, idleTimeout: Infinity })).not.toThrow();
  });
});

describe('PolicyRegistry eviction', () => {
  it('evicts the least recently used key when a new key would exceed maxKeys', () => {
    const { registry, evicted } = breakers({ maxKeys: 2 });
    registry.get('a');
    registry.get('b');
    registry.get('a'); // b is now the least recently used
    registry.get('c');
    expect(evicted).toEqual(['b:full']);
    expect(keys(registry)).toEqual(['a', 'c']);
    expect(registry.has('b')).toBe(false);
  });

  it('never evicts a key whose circuit is open: it holds more than maxKeys while it must, then shrinks back', async () => {
    const { registry, evicted } = breakers({ maxKeys: 1 });
    await registry.execute('sick', boom).catch(() => {});
    const sick = registry.get('sick');
    registry.get('b');
    expect(keys(registry)).toEqual(['sick', 'b']);
    expect(evicted).toEqual([]);
    sick.reset();
    registry.get('c');
    expect(evicted).toEqual(['sick:full', 'b:full']);
    expect(keys(registry)).toEqual(['c']);
  });

  it('never evicts a breaker that is isolated or half-open, also inside a wrap', async () => {
    const evicted: string[] = [];
    const registry = new PolicyRegistry({
      create: () => wrap(retryWithBackoff({ maxRetries: 0 }), new CircuitBreaker({ failureThreshold: 1, openDuration: 1_000 }), withTimeout(100)),
      maxKeys: 1,
    });
    registry.on('evict', ({ key }) => evicted.push(key));
    const breakerOf = (key: string): CircuitBreaker => registry.get(key).policies[1] as CircuitBreaker;
    breakerOf('isolated').isolate();
    await registry.execute('half-open', boom).catch(() => {});
    vi.advanceTimersByTime(1_000);
    expect(breakerOf('half-open').state).toBe('half-open');
    registry.get('new');
    expect(evicted).toEqual([]);
    expect(registry.size).toBe(3);
  });

  it('never evicts a key with calls in flight through execute, and may once they settle', async () => {
    const { registry, evicted } = breakers({ maxKeys: 1 });
    const slow = deferred<string>();
    const call = registry.execute('busy', () => slow.promise);
    registry.get('b');
    expect(evicted).toEqual([]);
    slow.resolve('done');
    await expect(call).resolves.toBe('done');
    registry.get('c');
    expect(evicted).toEqual(['b:full', 'busy:full']); // the call's end was busy's last use
  });

  it('counts a call in flight from the start: a fn that uses the registry at once cannot evict its own key', async () => {
    const { registry, evicted } = breakers({ maxKeys: 1 });
    await registry.execute('a', () => registry.get('b'));
    expect(evicted).toEqual([]);
  });

  it('never evicts a bulkhead with calls running, taken with get (its active count tells)', async () => {
    const registry = new PolicyRegistry({ create: () => new Bulkhead({ maxConcurrent: 1 }), maxKeys: 1 });
    const slow = deferred();
    const call = registry.get('a').execute(() => slow.promise);
    registry.get('b');
    expect(registry.has('a')).toBe(true);
    slow.resolve(undefined);
    await call;
    registry.get('c');
    expect(keys(registry)).toEqual(['c']);
  });

  it('delete removes a key whatever its state', async () => {
    const { registry, evicted } = breakers();
    await registry.execute('sick', boom).catch(() => {});
    expect(registry.delete('sick')).toBe(true);
    expect(registry.delete('sick')).toBe(false);
    expect(evicted).toEqual(['sick:delete']);
    expect(registry.get('sick').state).toBe('closed'); // a new breaker
  });

  it('keeps a new key O(1) when many older keys are in use: each sweep passes an entry in use once, then starts past it', async () => {
    const registry = new PolicyRegistry({ create: () => new CircuitBreaker({ failureThreshold: 1 }), maxKeys: 100 });
    for (let i = 0; i < 100; i++) await registry.execute(`sick${i}`, boom).catch(() => {});
    let reads = 0;
    for (const [, breaker] of registry.entries()) {
      const state = Object.getOwnPropertyDescriptor(CircuitBreaker.prototype, 'state')!.get!;
      Object.defineProperty(breaker, 'state', { get: () => (reads++, state.call(breaker)) });
    }
    for (let i = 0; i < 1_000; i++) registry.get(`new${i}`);
    // The first new key looks at the 100 open breakers once; the rest look at one or two entries each.
    expect(reads).toBeLessThan(100 + 2 * 1_000);
    expect(registry.size).toBe(100 + 1); // the open breakers, and the newest key
  });
});

describe('PolicyRegistry idle expiry', () => {
  it('drops a key unused for idleTimeout when next looked at, and its next use creates a new policy', () => {
    const { registry, evicted } = breakers({ idleTimeout: 1_000 });
    const a = registry.get('a');
    vi.advanceTimersByTime(999);
    expect(registry.has('a')).toBe(true);
    vi.advanceTimersByTime(1);
    expect(registry.get('a')).not.toBe(a);
    expect(evicted).toEqual(['a:idle']);
  });

  it('counts idle time from the end of the last call, not its start', async () => {
    const { registry } = breakers({ idleTimeout: 1_000 });
    const slow = deferred();
    const call = registry.execute('a', () => slow.promise);
    vi.advanceTimersByTime(5_000);
    expect(registry.has('a')).toBe(true); // in flight
    slow.resolve(undefined);
    await call;
    vi.advanceTimersByTime(999);
    expect(registry.size).toBe(1);
    vi.advanceTimersByTime(1);
    expect(registry.size).toBe(0);
  });

  it('expires no open or isolated circuit; a half-open one goes once idle (nobody sends it a trial)', async () => {
    const evicted: string[] = [];
    const registry = new PolicyRegistry({ create: () => new CircuitBreaker({ failureThreshold: 1, openDuration: 15_000 }), idleTimeout: 10_000 });
    registry.on('evict', ({ key, reason }) => evicted.push(`${key}:${reason}`));
    registry.get('closed');
    await registry.execute('open', boom).catch(() => {});
    registry.get('isolated').isolate();
    vi.advanceTimersByTime(10_000);
    expect(keys(registry)).toEqual(['open', 'isolated']);
    expect(evicted).toEqual(['closed:idle']);
    vi.advanceTimersByTime(5_000); // 'open' reads half-open now
    expect(keys(registry)).toEqual(['isolated']);
    expect(evicted).toEqual(['closed:idle', 'open:idle']);
  });

  it('no timer runs: an idle registry leaves nothing scheduled', () => {
    const { registry } = breakers({ idleTimeout: 1_000 });
    registry.get('a');
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('PolicyRegistry entries', () => {
  it('lists [key, policy] least recently used first, as a snapshot that marks nothing as used', () => {
    const { registry } = breakers({ maxKeys: 3 });
    const a = registry.get('a');
    const b = registry.get('b');
    registry.get('a');
    const listed = registry.entries();
    registry.get('c');
    expect([...listed]).toEqual([
      ['b', b],
      ['a', a],
    ]);
    expect(keys(registry)).toEqual(['b', 'a', 'c']); // listing did not move b
    expect([...registry].map(([key]) => key)).toEqual(['b', 'a', 'c']);
  });

  it('serves a health check: every circuit’s state by key', async () => {
    const { registry } = breakers();
    await registry.execute('payments', boom).catch(() => {});
    await registry.execute('search', () => 'ok');
    const circuits = Object.fromEntries(Array.from(registry.entries(), ([key, breaker]) => [key, breaker.stats().state]));
    expect(circuits).toEqual({ payments: 'open', search: 'closed' });
  });

  it('tells what it evicted, with the policy, so a listener can detach from it', () => {
    const { registry } = breakers({ maxKeys: 1 });
    const seen: [string, EvictReason, boolean][] = [];
    const a = registry.get('a');
    registry.on('evict', ({ key, policy, reason }) => seen.push([key, reason, policy === a]));
    registry.get('b');
    expect(seen).toEqual([['a', 'full', true]]);
  });
});
