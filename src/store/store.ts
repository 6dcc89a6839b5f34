// Namespace imports: an op still being written (a `declare const`) reads as undefined instead of failing the build.
import * as breaker from './breaker-op.js';
import * as budget from './budget-op.js';
import { fleetBreaker } from './fleet-breaker.js';
import { fleetBudget } from './fleet-budget.js';
import { fleetLimiter } from './fleet-limiter.js';
import { StoreLinkImpl } from './link.js';
import * as rateLimit from './rate-limit-op.js';
import type { ScriptOps, Store, StoreBackend } from './types.js';
import { ABOVE, mustBe, numberOption, objectOptions } from '../internal/validate.js';

/** The fleet glue of each policy, reached through the store (see types.ts). @internal */
export interface FleetGlue {
  readonly limiter: typeof fleetLimiter;
  readonly breaker: typeof fleetBreaker;
  readonly budget: typeof fleetBudget;
}

const GLUE: FleetGlue = { limiter: fleetLimiter, breaker: fleetBreaker, budget: fleetBudget };

/** Options of {@link createStore}. */
export interface StoreOptions {
  /**
   * ms; a store operation slower than this counts as a store failure: the
   * call goes on with local state and the store is probed in the background.
   * @default 50
   */
  readonly timeout?: number | undefined;
}

/** The three ops the built-in stores run. @internal */
export function builtinOps(): ScriptOps {
  return { rateLimit: rateLimit.rateLimitOp, breaker: breaker.breakerOp, budget: budget.budgetOp };
}

/** An op's full key names for `key`: `prefix + '{' + key + '}' + suffix` (one Redis Cluster slot per `key`). @internal */
export function keyNames(prefix: string, key: string, suffixes: readonly string[]): string[] {
  // A `}` in the key would end the hash tag early (a key beginning with one
  // would leave it empty, scattering the key's names over the cluster): it is
  // written %7D, and `%` as %25 so that two keys never get one name.
  const base = `${prefix}{${/[%}]/.test(key) ? key.replace(/[%}]/g, (c) => (c === '%' ? '%25' : '%7D')) : key}}`;
  return suffixes.map((suffix) => base + suffix);
}

/** `timeout` checked for `owner`'s message: a number above 0, finite. @internal */
export function timeoutOption(owner: string, value: unknown): number {
  return numberOption(owner, 'timeout', value, 50, ABOVE, 0);
}

/** A Store on a backend already checked. @internal */
export function storeOf(backend: StoreBackend, timeout: number): Store {
  return { link: new StoreLinkImpl(backend, timeout), fleet: GLUE };
}

const METHODS = ['rateLimit', 'breaker', 'budget', 'ping'] as const;

/**
 * A {@link Store} on an engine of your own: implement {@link StoreBackend}
 * (three atomic operations and a ping) and pass it here. The store adds the
 * deadline (`timeout`), the outage handling (down after a failure, probed
 * with `ping` until it answers) and each policy's fleet logic.
 *
 * @throws TypeError when `backend` is not an object with the four methods (naming the missing one), or an option is unknown.
 * @throws RangeError when `timeout` is not a finite number above 0.
 *
 * @example
 * ```ts
 * import { createStore, RateLimiter, type StoreBackend } from 'breakwater';
 *
 * // Your engine's client, with one transaction per decision (a sketch).
 * declare const db: Record<'rateLimit' | 'breaker' | 'budget', (key: string, request: object) => Promise<never>> & { query(sql: string): Promise<unknown> };
 * const backend: StoreBackend = {
 *   rateLimit: (key, request) => db.rateLimit(key, request), // one transaction each
 *   breaker: (key, request) => db.breaker(key, request),
 *   budget: (key, request) => db.budget(key, request),
 *   ping: () => db.query('SELECT 1'),
 * };
 * const store = createStore(backend, { timeout: 100 });
 * const limiter = new RateLimiter({ limit: 100, interval: 1_000, store, key: 'api' });
 * ```
 */
/* @__NO_SIDE_EFFECTS__ */
export function createStore(backend: StoreBackend, options?: StoreOptions): Store {
  const o = objectOptions<StoreOptions>('createStore', options, 'timeout');
  const timeout = timeoutOption('createStore', o.timeout);
  if (backend === null || typeof backend !== 'object') throw mustBe('createStore: backend', 'an object', backend);
  for (const name of METHODS) {
    if (typeof backend[name] !== 'function') throw mustBe(`createStore: backend.${name}`, 'a function', backend[name]);
  }
  return storeOf(backend, timeout);
}
