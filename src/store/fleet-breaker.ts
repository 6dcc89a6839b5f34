// STUB: owned by the breaker helper — the breaker's fleet glue, reached as store.fleet.breaker(...).
import type { StoreLink } from './types.js';

/** @internal */
export function fleetBreaker(link: StoreLink, key: string): unknown {
  void link;
  void key;
  throw new Error('not yet');
}
