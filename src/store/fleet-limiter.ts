// A RateLimiter's fleet side, reached as store.fleet.limiter(...) so that a
// limiter without a store carries none of it: each call's decision in the
// store (rate-limit-op.ts), a deny cache that turns calls away here until the
// refused token is due, a heartbeat that tells this instance its share of the
// limit, and `onStoreError` in an outage (the 'local' bucket: local-bucket.ts).
import { RateLimitedError } from '../errors.js';
import { runNext, sleep, type Ctx, type Next } from '../internal/context.js';
import { now } from '../internal/timers.js';
import { ABOVE, INTEGER, numberOption } from '../internal/validate.js';
import type { RateLimiterOptions } from '../rate-limiter.js';
import { LocalBucket, shareOf } from './local-bucket.js';
import { Outage } from './outage.js';
import type { RateLimitReply, RateLimitRequest } from './rate-limit-op.js';
import type { StoreBackend, StoreLink } from './types.js';

/** What a fleet `RateLimiter` does when its store fails. */
export type OnStoreError = NonNullable<RateLimiterOptions['onStoreError']>;

/** What the glue reads of its `RateLimiter`. @internal */
export interface LimiterHost {
  readonly limit: number;
  readonly interval: number;
  readonly maxWait: number;
}

/** The limiter's own `emit`, for `rejected`, `storeError` and `storeRecovered`. @internal */
export type LimiterEmit = (event: 'rejected' | 'storeError' | 'storeRecovered', payload: object) => void;

/** ms for which an instance counts as sharing the key after its last heartbeat: a few intervals, at least 10 s. */
function heartbeatWindow(interval: number): number {
  return Math.max(3 * interval, 10_000);
}

/** Whether a backend's reply can be read as a RateLimitReply (a backend of the user's own may answer anything). */
function readable(reply: RateLimitReply | null | undefined): boolean {
  return typeof reply === 'object' && reply !== null && typeof reply.admitted === 'boolean' && Number.isFinite(reply.wait) && reply.wait >= 0 && Number.isFinite(reply.remaining);
}

/**
 * A `RateLimiter`'s fleet side: every decision is made in the store (GCRA on
 * the store's clock; the Redis store sends the calls of one tick as one
 * script), except that a call turned away is remembered until its token is
 * due, so the calls after it are turned away here, with no round trip. When
 * the store fails, `onStoreError` decides.
 * It holds no timer and no listener between calls, so a dropped limiter is garbage.
 * @internal
 */
export class FleetLimiter {
  readonly #link: StoreLink;
  readonly #host: LimiterHost;
  readonly #mode: OnStoreError;
  readonly #emit: LimiterEmit;
  readonly #outage: Outage;
  readonly #window: number;
  readonly #beatEvery: number;
  // Two requests, built once: with and without the heartbeat.
  readonly #ask: (backend: StoreBackend) => Promise<RateLimitReply>;
  readonly #askBeat: (backend: StoreBackend) => Promise<RateLimitReply>;
  /** On the local monotonic clock: when the token the store last refused is due (the deny cache). */
  #tokenDue = -Infinity;
  #lastBeat = -Infinity;
  /** Instances sharing the key, from the last heartbeat reply; 1 until one came. */
  #instances = 1;
  #remaining: number;
  #sleeping = 0;
  /** The 'local' fallback's bucket, made at the first outage and kept. */
  #local: LocalBucket | undefined = undefined;
  /** Tokens left in it after its last decision, while that came after the store's last reply; else -1. */
  #localLeft = -1;

  constructor(link: StoreLink, key: string, host: LimiterHost, mode: OnStoreError, emit: LimiterEmit) {
    this.#link = link;
    this.#host = host;
    this.#mode = mode;
    this.#emit = emit;
    this.#outage = new Outage(link, emit);
    this.#window = heartbeatWindow(host.interval);
    this.#beatEvery = Math.min(this.#window / 4, 1_000);
    this.#remaining = host.limit;
    const request = (instance: string): RateLimitRequest => ({
      limit: host.limit,
      interval: host.interval,
      maxWait: host.maxWait,
      instance,
      window: this.#window,
    });
    const plain = request('');
    // Random, not crypto.randomUUID (secure contexts only in browsers): it only counts instances.
    const beat = request(Math.random().toString(36).slice(2) + now().toString(36));
    this.#ask = (backend) => backend.rateLimit(key, plain);
    this.#askBeat = (backend) => backend.rateLimit(key, beat);
  }

  /** Calls waiting for their token: reserved in the store, or in the local fallback. */
  get queued(): number {
    return this.#sleeping;
  }

  /** Tokens left as of this instance's last decision (the store's, or the local fallback's during an outage); 0 while a refused token is not due. */
  get available(): number {
    if (this.#localLeft >= 0) return this.#localLeft;
    return this.#tokenDue > now() ? 0 : this.#remaining;
  }

  run(ctx: Ctx, next: Next): Promise<unknown> {
    const t = now();
    // The deny cache: the fleet's next token is due no sooner than the store said.
    const due = this.#tokenDue - t;
    if (due > this.#host.maxWait) return this.#reject(Math.ceil(due), undefined, true);
    let ask = this.#ask;
    // Heartbeats at most once a second (and a few times per window), not per call: they cost
    // the store more than the decision. Often enough that each instance soon knows its share.
    if (t - this.#lastBeat >= this.#beatEvery) {
      this.#lastBeat = t;
      ask = this.#askBeat;
    }
    return this.#link.run(ask, ctx.abortable ? ctx.signal : undefined).then(
      (reply) => this.#decided(reply, t, ctx, next),
      (error: unknown) => this.#failed(error, ctx, next),
    );
  }

  #decided(reply: RateLimitReply, sent: number, ctx: Ctx, next: Next): Promise<unknown> {
    if (!readable(reply)) return this.#unreadable(reply, ctx, next);
    if (reply.instances > 0 && reply.instances !== this.#instances) this.#counted(reply.instances);
    this.#localLeft = -1;
    this.#remaining = reply.remaining;
    if (!reply.admitted) {
      // No token is due later than interval + maxWait ahead while the store's clock runs forward: a
      // longer wait (a backend whose clock stepped back) is cut to that, so neither the caller nor the
      // deny cache waits out the step. From when it was sent, which is no later than the store's now:
      // the cache never outlasts the refusal.
      const wait = Math.min(reply.wait, Math.ceil(this.#host.interval + this.#host.maxWait));
      this.#tokenDue = sent + wait;
      return this.#reject(wait, undefined, false);
    }
    return this.#admit(reply.wait, ctx, next);
  }

  /** A reply that cannot be read is a failure of the store: it goes down (for every policy on it) and this call goes by onStoreError. */
  #unreadable(reply: unknown, ctx: Ctx, next: Next): Promise<unknown> {
    const error = new TypeError(`rateLimit: unexpected reply ${String(reply)}`);
    return this.#link.run(() => Promise.reject(error)).then(undefined, (e: unknown) => this.#failed(e, ctx, next));
  }

  /** A heartbeat's count of the instances sharing the key: the local fallback's share follows it. */
  #counted(instances: number): void {
    if (!Number.isInteger(instances)) return;
    this.#instances = instances;
    this.#local?.share(shareOf(this.#host.limit, instances));
  }

  /** Runs an admitted call, after `wait` ms for a reservation. */
  #admit(wait: number, ctx: Ctx, next: Next): Promise<unknown> {
    // The token is spent either way; a reservation is not given back.
    if (ctx.aborted) return Promise.reject(ctx.reason);
    if (wait <= 0) return runNext(next, ctx);
    this.#sleeping++;
    return sleep(wait, ctx).then(
      () => {
        this.#sleeping--;
        return runNext(next, ctx);
      },
      (reason: unknown) => {
        this.#sleeping--;
        throw reason;
      },
    );
  }

  #failed(error: unknown, ctx: Ctx, next: Next): Promise<unknown> {
    // The caller's (or an enclosing policy's) abort is no store failure.
    if (ctx.aborted) return Promise.reject(ctx.reason);
    this.#lastBeat = -Infinity; // beat again with the first call after the outage
    this.#outage.failed(error);
    if (this.#mode === 'allow') return runNext(next, ctx);
    if (this.#mode === 'reject') return this.#reject(Math.ceil(this.#host.interval / this.#host.limit), error, false);
    const { limit, interval, maxWait } = this.#host;
    const decided = (this.#local ??= new LocalBucket(shareOf(limit, this.#instances), interval, maxWait)).take();
    this.#localLeft = decided.remaining;
    return decided.admitted ? this.#admit(decided.wait, ctx, next) : this.#reject(decided.wait, undefined, false);
  }

  /** `bare`: the deny cache's rejections, which carry no stack trace (see {@link bareError}). */
  #reject(retryAfter: number, cause: unknown, bare: boolean): Promise<never> {
    this.#emit('rejected', { retryAfter });
    // Without a cause, none at all: `{ cause: undefined }` would still set the property.
    return Promise.reject(bare ? bareError(retryAfter) : new RateLimitedError(undefined, cause === undefined ? { retryAfter } : { retryAfter, cause }));
  }
}

/**
 * A RateLimitedError without a stack trace (its `stack` is its first line).
 * Capturing a stack costs a few µs, several times the rest of a rejection
 * answered from memory; a turned-away burst is the deny cache's hot path, and
 * the frames would only show the limiter's own. Engines without
 * `Error.stackTraceLimit` (V8's) are left alone and capture as usual.
 */
function bareError(retryAfter: number): RateLimitedError {
  const E = Error as { stackTraceLimit?: number };
  const limit = E.stackTraceLimit;
  if (typeof limit !== 'number') return new RateLimitedError(undefined, { retryAfter });
  E.stackTraceLimit = 0;
  try {
    return new RateLimitedError(undefined, { retryAfter });
  } finally {
    E.stackTraceLimit = limit;
  }
}

/**
 * The fleet side of a `RateLimiter` with a store (called by its constructor).
 * @throws RangeError when `limit` or `interval` is past what the store computes exactly.
 * @internal
 */
export function fleetLimiter(link: StoreLink, key: string, host: LimiterHost, mode: OnStoreError, emit: LimiterEmit): FleetLimiter {
  // Whole µs in doubles: every sum the script makes stays below 2^53.
  numberOption('RateLimiter', 'limit', host.limit, 0, INTEGER, 1, 1e9);
  numberOption('RateLimiter', 'interval', host.interval, 0, ABOVE, 0, 1e12);
  return new FleetLimiter(link, key, host, mode, emit);
}
