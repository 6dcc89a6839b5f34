import { builtinOps, keyNames, storeOf } from './store.js';
import type { MemoryKV, ScriptOp, ScriptOps, Store, StoreBackend } from './types.js';
import { mustBe } from '../internal/validate.js';

/** Sweeps never run more often than this many writes (a small keyspace is not worth walking). */
const MIN_SWEEP = 64;

/**
 * The memory store's keyspace: a Map of values with absolute expiries on the
 * clock of the op being run (`now`, set by the backend before each op). An
 * expired entry reads as missing and is deleted when read; the whole map is
 * swept for expired entries once the writes since the last sweep reach the
 * number of entries that sweep kept (at least MIN_SWEEP): amortised O(1) per
 * write, and the map never holds more than twice its live entries (or live +
 * MIN_SWEEP), however many keys are never read again.
 * @internal
 */
export class MemoryKVImpl implements MemoryKV {
  readonly #entries = new Map<string, { value: unknown; expires: number }>();
  #writes = 0;
  /** Entries left by the last sweep. */
  #kept = 0;
  /** The clock of the op being run, ms. */
  now = 0;

  get<T>(key: string): T | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expires <= this.now) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value as T;
  }

  set(key: string, value: unknown, ttl: number): void {
    this.#entries.set(key, { value, expires: this.now + ttl });
    if (++this.#writes >= Math.max(MIN_SWEEP, this.#kept)) this.sweep();
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  /** Deletes every expired entry. */
  sweep(): void {
    this.#writes = 0;
    for (const [key, entry] of this.#entries) if (entry.expires <= this.now) this.#entries.delete(key);
    this.#kept = this.#entries.size;
  }

  /** Entries held, expired or not (for tests). */
  get size(): number {
    return this.#entries.size;
  }
}

/**
 * A backend running each op's `memory` twin on `kv` and on `Date.now()` (which
 * fake timers control). Each op runs to completion synchronously, so it is as
 * atomic as the Redis script; a throw becomes a rejection.
 * @internal
 */
export function memoryBackend(ops: ScriptOps = builtinOps(), kv: MemoryKVImpl = new MemoryKVImpl(), prefix = 'breakwater:'): StoreBackend {
  const run = <Q, R>(op: ScriptOp<Q, R>, key: string, request: Q): Promise<R> =>
    new Promise<R>((resolve) => {
      const now = Date.now();
      kv.now = now;
      resolve(op.memory(kv, keyNames(prefix, key, op.keys), request, now));
    });
  return {
    rateLimit: (key, request) => run(ops.rateLimit, key, request),
    breaker: (key, request) => run(ops.breaker, key, request),
    budget: (key, request) => run(ops.budget, key, request),
    ping: () => Promise.resolve('PONG'),
  };
}

/**
 * A {@link Store} in this process, with the same semantics as
 * {@link createRedisStore}: policies given the same memory store and `key`
 * share one state, as instances of a fleet sharing a Redis would. For tests
 * (its clock is `Date.now()`, so fake timers drive it), and for sharing one
 * state between several policy objects in one process.
 *
 * It takes no options: an argument other than `undefined` is a TypeError
 * (a `prefix` or `timeout` meant for {@link createRedisStore} would
 * otherwise be ignored in silence).
 *
 * @example
 * ```ts
 * import { createMemoryStore, RateLimiter } from 'breakwater';
 *
 * const store = createMemoryStore();
 * const a = new RateLimiter({ limit: 10, interval: 1_000, store, key: 'api' });
 * const b = new RateLimiter({ limit: 10, interval: 1_000, store, key: 'api' });
 * // a and b admit 10 per second together.
 * ```
 */
/* @__NO_SIDE_EFFECTS__ */
export function createMemoryStore(): Store {
  const options: unknown = arguments[0];
  if (options !== undefined) throw mustBe('createMemoryStore: options', 'undefined (it takes none)', options);
  return storeOf(memoryBackend(), 50);
}
