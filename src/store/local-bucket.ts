// A fleet RateLimiter's 'local' fallback (onStoreError: 'local', part of
// fleet-limiter.ts): while the store is down, this instance admits its share
// of `limit` on a bucket of its own, with the fleet's own decision (the
// rate-limit op's memory twin) so that it admits as the store would. Apart
// from the glue, which only picks it in an outage and tells it the share.
import { now } from '../internal/timers.js';
import { rateLimitOp, type RateLimitReply, type RateLimitRequest } from './rate-limit-op.js';
import { retargeted } from './rate-limit-memory.js';
import type { MemoryKV } from './types.js';

/** This instance's share of `limit` among `instances`: at least 1. @internal */
export function shareOf(limit: number, instances: number): number {
  return Math.max(1, Math.floor(limit / instances));
}

const LOCAL_KEYS = ['', ''];

/**
 * The 'local' fallback's bucket: the store's own decision (the script's memory
 * twin, reservations and all) on this process's monotonic clock, for this
 * instance's share of `limit`. One for the limiter's lifetime, made at its
 * first outage: between outages it refills on time by itself, as the fleet's
 * bucket does, so a store that flaps hands out no fresh burst at each outage.
 * When the share changes (instances came or left) it keeps how far from full
 * it is.
 * @internal
 */
export class LocalBucket implements MemoryKV {
  #tat: unknown = undefined;
  #request: RateLimitRequest;

  constructor(limit: number, interval: number, maxWait: number) {
    this.#request = { limit, interval, maxWait, instance: '', window: 1 };
  }

  get<T>(): T | undefined {
    return this.#tat as T | undefined;
  }

  set(_key: string, value: unknown): void {
    this.#tat = value;
  }

  delete(): void {
    this.#tat = undefined;
  }

  /** One token, now or reserved within maxWait; or when it is due. */
  take(): RateLimitReply {
    return rateLimitOp.memory(this, LOCAL_KEYS, this.#request, now());
  }

  share(limit: number): void {
    if (limit === this.#request.limit) return;
    this.#request = { ...this.#request, limit };
    this.#tat = retargeted(this.#tat);
  }
}
