import { Emitter } from './events.js';
import { settleOnce } from './internal/context.js';
import { now } from './internal/timers.js';
import { ABOVE, INFINITE, INTEGER, describe, functionOption, numberOption, objectOptions, required } from './internal/validate.js';
import type { Policy, PolicyContext, WidenedBy } from './policy.js';

/** Options of {@link PolicyRegistry}. */
export interface PolicyRegistryOptions<P extends Policy<any>> {
  /**
   * Builds the policy (or `wrap` pipeline) of a key on its first use. Subscribe to
   * its events here: a key evicted and used again gets a new one.
   */
  readonly create: (key: string) => P;
  /**
   * Entries held at most; a new key evicts the least recently used entry that
   * may go (see {@link PolicyRegistry}). `Infinity` turns the bound off.
   * @default 1000
   */
  readonly maxKeys?: number | undefined;
  /**
   * ms after its last use (the end of its last call) at which an entry expires:
   * the next look at it drops it, and its key's next use creates a new policy.
   * `Infinity` turns expiry off.
   * @default 600_000 (10 minutes)
   */
  readonly idleTimeout?: number | undefined;
}

/** Why an entry left a {@link PolicyRegistry}: room for a new key, idle for `idleTimeout`, or `delete(key)`. */
export type EvictReason = 'full' | 'idle' | 'delete';

/** The events of a {@link PolicyRegistry} and their payloads. */
export interface PolicyRegistryEvents<P> {
  /** `create` built the policy of a new key. */
  create: { readonly key: string; readonly policy: P };
  /** An entry left the registry. */
  evict: { readonly key: string; readonly policy: P; readonly reason: EvictReason };
}

interface Entry<P> {
  readonly key: string;
  readonly policy: P;
  /** When last looked up, or when a call through `execute` ended. */
  used: number;
  /** Calls through `execute` in flight. */
  calls: number;
}

const OWNER = 'PolicyRegistry';

function keyOf(key: unknown, method: string): string {
  if (typeof key !== 'string') throw new TypeError(`${OWNER}.${method}: key must be a string, got ${describe(key)}`);
  return key;
}

/**
 * Whether a policy must stay, as far as its public state tells: a circuit that
 * is not closed (a `CircuitBreaker`'s `state`), or calls running or queued (an
 * `active` or `queued` above 0: a `Bulkhead`, `AdaptiveLimiter`, `RateLimiter`);
 * for a wrap, any policy inside it. Duck-typed, so a breaker of another copy of
 * the package counts too. A half-open circuit that stayed `idle` may go: it waits
 * for a trial call that nobody sends, and would otherwise be held for ever.
 */
function holds(policy: unknown, idle: boolean): boolean {
  const { policies, state, active, queued } = policy as { policies?: unknown; state?: unknown; active?: number; queued?: number };
  if (Array.isArray(policies)) return policies.some((inner) => holds(inner, idle));
  if (typeof state === 'string' && state !== 'closed' && !(idle && state === 'half-open')) return true;
  return (active as number) > 0 || (queued as number) > 0;
}

const busy = (entry: Entry<unknown>, idle: boolean): boolean => entry.calls > 0 || holds(entry.policy, idle);

/**
 * A bounded map from keys (a downstream host, a tenant, a shard) to a policy of
 * their own, so one sick downstream opens only its own circuit. `create` builds
 * a key's policy on its first use; at most `maxKeys` entries are held (the least
 * recently used evicted first), and one unused for `idleTimeout` expires — when
 * the registry is next used or read: no timer runs.
 *
 * No entry still in use is evicted or expires: one with calls in flight through
 * `execute`, or whose policy (or one inside its `wrap`) is a circuit open,
 * isolated or (unless idle) half-open, or a bulkhead or limiter with calls
 * running or queued. While more than `maxKeys` are in use, all are held (better
 * than failing a healthy key's calls) until they fall out of use. Calls on a
 * policy taken with `get` are not counted: use `execute` where its state cannot tell.
 *
 * @example
 * ```ts
 * import { CircuitBreaker, PolicyRegistry, retryWithBackoff, withTimeout, wrap } from 'breakwater';
 *
 * const hosts = new PolicyRegistry({
 *   create: (host) => {
 *     const breaker = new CircuitBreaker({ failureRateThreshold: 0.5, windowDuration: 30_000 });
 *     breaker.on('stateChange', ({ from, to }) => console.warn(`[${host}] circuit ${from} -> ${to}`));
 *     return wrap(retryWithBackoff({ maxRetries: 2 }), breaker, withTimeout(2_000));
 *   },
 *   maxKeys: 500,
 * });
 *
 * const url = new URL('https://api.example.com/items');
 * const res = await hosts.execute(url.host, ({ signal }) => fetch(url, { signal }));
 * for (const [host, pipeline] of hosts.entries()) console.log(host, pipeline.policies.length);
 * ```
 */
export class PolicyRegistry<P extends Policy<any> = Policy<unknown>> extends Emitter<PolicyRegistryEvents<P>> {
  readonly #create: (key: string) => P;
  readonly #max: number;
  readonly #idle: number;
  /** Least recently used first: a Map keeps insertion order, and a use re-inserts its entry. */
  readonly #lru = new Map<string, Entry<P>>();
  /** Entries in use when they were next to go, oldest first: apart, so no sweep walks past them again. */
  readonly #held = new Map<string, Entry<P>>();

  constructor(options: PolicyRegistryOptions<P>) {
    super('create evict');
    const o = objectOptions<PolicyRegistryOptions<P>>(OWNER, options, 'create maxKeys idleTimeout');
    this.#create = functionOption<(key: string) => P>(OWNER, 'create', o.create) ?? required(OWNER, 'create');
    this.#max = numberOption(OWNER, 'maxKeys', o.maxKeys, 1000, INTEGER | INFINITE, 1);
    this.#idle = numberOption(OWNER, 'idleTimeout', o.idleTimeout, 600_000, ABOVE | INFINITE);
  }

  /** How many entries the registry holds (after dropping expired ones). */
  get size(): number {
    this.#sweep(now(), Infinity, true);
    return this.#lru.size + this.#held.size;
  }

  /**
   * The policy of `key`, created by `create` if not held (which may evict another). Marks `key` as used.
   * @throws TypeError when `key` is not a string, or `create` returns no policy.
   */
  get(key: string): P {
    return this.#use(key, 'get').policy;
  }

  /**
   * Runs `fn` under the policy of `key` (see {@link PolicyRegistry.get}), counted as in flight (so
   * never evicted) until it settles. Rejects at once with a `TypeError` when `key` is not a string.
   */
  execute<T>(key: string, fn: (ctx: PolicyContext) => T | PromiseLike<T>, signal?: AbortSignal): Promise<T | WidenedBy<P>> {
    let entry: Entry<P> | undefined;
    let call: Promise<unknown>;
    try {
      entry = this.#use(key, 'execute');
      // Counted before the policy runs: `fn` may start at once and use the registry.
      entry.calls++;
      call = settleOnce(entry.policy.execute(fn, signal));
    } catch (error) {
      if (entry === undefined) return Promise.reject(error);
      call = Promise.reject(error);
    }
    const counted = entry as Entry<P>;
    return call.finally(() => {
      counted.calls--;
      counted.used = now();
      // The end of a call is a use: the most recent, unless the entry left meanwhile.
      if (this.#lru.get(counted.key) === counted || this.#held.get(counted.key) === counted) this.#move(counted, this.#lru);
    }) as Promise<T | WidenedBy<P>>;
  }

  /** Whether the registry holds `key` (an expired entry is dropped, not held). Does not mark it as used. */
  has(key: string): boolean {
    return this.#find(key, 'has', now()) !== undefined;
  }

  /** Removes `key` whatever its state (its calls in flight carry on); `false` if it was not held. */
  delete(key: string): boolean {
    const entry = this.#lru.get(keyOf(key, 'delete')) ?? this.#held.get(key);
    if (entry !== undefined) this.#drop(entry, 'delete');
    return entry !== undefined;
  }

  /**
   * `[key, policy]` of every entry, least recently used first (expired ones dropped), for a health
   * check or metrics: a snapshot, which marks nothing as used.
   */
  entries(): IterableIterator<[string, P]> {
    this.#sweep(now(), Infinity, true);
    const all = [...this.#held.values(), ...this.#lru.values()];
    return all.map((entry): [string, P] => [entry.key, entry.policy])[Symbol.iterator]();
  }

  /** The same as {@link PolicyRegistry.entries}: `for (const [key, policy] of registry)`. */
  [Symbol.iterator](): IterableIterator<[string, P]> {
    return this.entries();
  }

  /** The entry of `key`, unless it expired (then it is dropped). */
  #find(key: string, method: string, t: number): Entry<P> | undefined {
    const entry = this.#lru.get(keyOf(key, method)) ?? this.#held.get(key);
    if (entry === undefined || t - entry.used < this.#idle || busy(entry, true)) return entry;
    this.#drop(entry, 'idle');
    return undefined;
  }

  #use(key: string, method: string): Entry<P> {
    const t = now();
    let entry = this.#find(key, method, t);
    if (entry === undefined) {
      const policy = this.#create(key);
      if (policy === null || typeof policy !== 'object' || typeof policy.execute !== 'function') {
        throw new TypeError(`${OWNER}: create must return a policy with an execute method, got ${describe(policy)}`);
      }
      this.#sweep(t, this.#max - 1, false); // room for one more
      this.#lru.set(key, (entry = { key, policy, used: t, calls: 0 }));
      this.emit('create', { key, policy });
    } else {
      entry.used = t;
      this.#move(entry, this.#lru);
    }
    return entry;
  }

  /** Moves `entry` to the back of `to`: of the LRU order, it is then the most recently used. */
  #move(entry: Entry<P>, to: Map<string, Entry<P>>): void {
    this.#held.delete(entry.key);
    this.#lru.delete(entry.key);
    to.set(entry.key, entry);
  }

  /**
   * Drops expired entries, and the least recently used while more than `limit`
   * are held: first one held entry (each, when `all`), which then goes to the
   * back, then along the LRU order, where each is dropped or held: O(1) per new key.
   */
  #sweep(t: number, limit: number, all: boolean): void {
    const held = this.#held;
    const lru = this.#lru;
    let left = all ? held.size : 1;
    for (const entry of held.values()) {
      if (left-- === 0) break;
      const idle = t - entry.used >= this.#idle;
      if ((idle || lru.size + held.size > limit) && !busy(entry, idle)) this.#drop(entry, idle ? 'idle' : 'full');
      else this.#move(entry, held);
    }
    for (const entry of lru.values()) {
      const idle = t - entry.used >= this.#idle;
      if (!idle && lru.size + held.size <= limit) break;
      if (!busy(entry, idle)) this.#drop(entry, idle ? 'idle' : 'full');
      else this.#move(entry, held);
    }
  }

  #drop(entry: Entry<P>, reason: EvictReason): void {
    this.#lru.delete(entry.key);
    this.#held.delete(entry.key);
    this.emit('evict', { key: entry.key, policy: entry.policy, reason });
  }
}
