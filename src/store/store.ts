import { fleetBreaker } from './fleet-breaker.js';
import { fleetBudget } from './fleet-budget.js';
import { fleetLimiter } from './fleet-limiter.js';
import { StoreLinkImpl } from './link.js';
import type { Store, StoreBackend } from './types.js';
import { numberOption, objectOptions } from '../internal/validate.js';

/** The fleet glue of each policy, reached through the store (see types.ts). @internal */
export interface FleetGlue {
  readonly limiter: typeof fleetLimiter;
  readonly breaker: typeof fleetBreaker;
  readonly budget: typeof fleetBudget;
}

const GLUE: FleetGlue = { limiter: fleetLimiter, breaker: fleetBreaker, budget: fleetBudget };

/** Options of {@link createStore}. */
export interface StoreOptions {
  /** ms; a store operation slower than this counts as a store failure. @default 50 */
  readonly timeout?: number | undefined;
}

/**
 * A {@link Store} on an engine of your own: implement {@link StoreBackend}
 * (three atomic operations and a ping) and pass it here. The store adds the
 * deadline, the outage handling and each policy's fleet logic.
 */
export function createStore(backend: StoreBackend, options?: StoreOptions): Store {
  const o = objectOptions<StoreOptions>('createStore', options, 'timeout');
  const timeout = numberOption('createStore', 'timeout', o.timeout, 50, 0, 1);
  // TODO(A): validate backend's methods (TypeError naming "backend").
  return { link: new StoreLinkImpl(backend, timeout), fleet: GLUE };
}
