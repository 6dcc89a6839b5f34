// STUB: owned by the limiter helper — the limiter's fleet glue, reached as store.fleet.limiter(...).
import type { StoreLink } from './types.js';

/** @internal */
export function fleetLimiter(link: StoreLink, key: string): unknown {
  void link;
  void key;
  throw new Error('not yet');
}
