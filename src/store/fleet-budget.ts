// STUB: owned by the budget helper — the budget's fleet glue, reached as store.fleet.budget(...).
import type { StoreLink } from './types.js';

/** @internal */
export function fleetBudget(link: StoreLink, key: string): unknown {
  void link;
  void key;
  throw new Error('not yet');
}
