import { RateLimitedError } from './errors.js';
import { runNext, type Ctx, type Next } from './internal/context.js';
import { LinkedQueue } from './internal/queue.js';
import { now, startTimer, stopTimer, type TimerHandle } from './internal/timers.js';
import { ABOVE, enumOption, INFINITE, INTEGER, invalid, numberOption, objectOptions, required } from './internal/validate.js';
import { Waiter } from './internal/waiter.js';
import { PolicyBase } from './policy.js';
// Types only: the fleet glue is reached through the store, so a limiter without one carries none of it.
import type { FleetLimiter } from './store/fleet-limiter.js';
import type { Store } from './store/types.js';

/** Options of {@link RateLimiter}. */
export interface RateLimiterOptions {
  /**
   * Calls allowed per `interval`, and the largest burst; an integer >= 1. Required.
   */
  readonly limit: number;
  /**
   * The period, in ms, over which `limit` tokens refill (one every `interval / limit` ms). Required.
   */
  readonly interval: number;
  /**
   * How long, in ms, a call without a token may wait for one, in FIFO order.
   * `0` rejects at once; `Infinity` always waits. A call whose token is due
   * later than this is rejected at once rather than after waiting in vain.
   * @default 0
   */
  readonly maxWait?: number | undefined;
  /**
   * Fleet state: limiters with the same store and `key`, in any number of
   * processes, draw from one bucket, decided atomically in the store on its
   * clock. Made by `createRedisStore`, `createMemoryStore` or `createStore`.
   * @default undefined (a bucket of this limiter's own)
   */
  readonly store?: Store | undefined;
  /**
   * The bucket's name in the store: a non-empty string, required with `store`.
   * @default undefined
   */
  readonly key?: string | undefined;
  /**
   * With a store, what a call does when the store fails (an error, or slower
   * than its `timeout`): `'local'` takes a token from a local bucket of this
   * instance's share (`limit` divided by the instances recently seen sharing
   * the key, at least 1), one bucket for the limiter's lifetime that refills
   * on time between outages; `'allow'` runs the call; `'reject'` rejects it with
   * `RateLimitedError` whose `cause` is the store's error.
   * @default 'local'
   */
  readonly onStoreError?: 'local' | 'allow' | 'reject' | undefined;
}

/** Events of {@link RateLimiter}. */
export interface RateLimiterEvents {
  /** A call was turned away: its token is due in `retryAfter` ms, later than `maxWait`. */
  rejected: { readonly retryAfter: number };
  /** With a store: the store failed and calls go by `onStoreError`; once per outage. */
  storeError: { readonly error: unknown };
  /** With a store: it answers again after `downtime` ms, and calls share the fleet's bucket again. */
  storeRecovered: { readonly downtime: number };
}

const OWNER = 'RateLimiter';

/**
 * A token bucket and a Policy: `limit` calls per `interval` ms, in bursts of
 * up to `limit`. A call without a token waits for one in FIFO order if it is
 * due within `maxWait`, and is otherwise rejected at once with
 * `RateLimitedError`, whose `retryAfter` says when its token would be due
 * (which `retryWithBackoff` honours by default). Refill is computed from the
 * clock on demand: no timer runs unless calls are waiting, and then only one.
 *
 * With `store` and `key`, every limiter sharing them, in any process, draws
 * from one bucket in the store instead (see {@link RateLimiterOptions.store}).
 *
 * @example
 * ```ts
 * import { RateLimiter } from 'breakwater';
 *
 * // The API allows 10 requests per second; wait up to 2 s for a turn.
 * const limiter = new RateLimiter({ limit: 10, interval: 1_000, maxWait: 2_000 });
 * const res = await limiter.execute(({ signal }) => fetch('https://api.example.com/items', { signal }));
 * ```
 */
export class RateLimiter extends PolicyBase<RateLimiterEvents> {
  /** Calls per `interval`, and the largest burst. */
  readonly limit: number;
  /** The refill period in ms. */
  readonly interval: number;
  /** How long a call may wait for a token, in ms. */
  readonly maxWait: number;
  // The bucket, kept exact without accumulating floats: at time `anchor` it
  // was full, and `taken` tokens have been spent since. Token n (counting from
  // the anchor) is due at anchor + (n - limit) * interval / limit, computed
  // afresh each time, so no rounding error builds up over any run of calls,
  // and an idle gap of any length refills to exactly `limit`.
  // #private: minifiers shorten these names, plain properties they cannot (bench/bundle.mjs).
  #anchor = 0;
  #taken = 0;
  readonly #waiting = new LinkedQueue<Waiter>();
  #timer: TimerHandle = undefined;
  readonly #wake: () => void;
  /** With a store, the fleet side, which decides every call instead of the bucket above. */
  readonly #fleet: FleetLimiter | undefined;

  constructor(options: RateLimiterOptions) {
    super('rejected storeError storeRecovered', OWNER);
    const o = objectOptions<RateLimiterOptions>(OWNER, options, 'limit interval maxWait store key onStoreError');
    if (o.limit === undefined) required(OWNER, 'limit');
    if (o.interval === undefined) required(OWNER, 'interval');
    this.limit = numberOption(OWNER, 'limit', o.limit, 1, INTEGER, 1);
    this.interval = numberOption(OWNER, 'interval', o.interval, 1, ABOVE);
    this.maxWait = numberOption(OWNER, 'maxWait', o.maxWait, 0, INFINITE);
    const mode = enumOption(OWNER, 'onStoreError', o.onStoreError, ['local', 'allow', 'reject'], 'local');
    const { store, key } = o;
    if (key !== undefined && (typeof key !== 'string' || key === '')) invalid(OWNER, 'key', 'a non-empty string', key);
    if (store !== undefined) {
      // Duck-typed: a Store of another copy of breakwater works too.
      if (typeof (store as Partial<Store> | null)?.fleet?.limiter !== 'function' || typeof store.link?.run !== 'function') invalid(OWNER, 'store', 'a Store', store);
      if (key === undefined) required(OWNER, 'key');
      this.#fleet = store.fleet.limiter(store.link, key, this, mode, (event, payload) => this.emit(event, payload as never));
    }
    this.#wake = () => {
      this.#timer = undefined;
      this.#drain();
    };
  }

  /** Calls waiting for a token now. */
  get queued(): number {
    return this.#fleet !== undefined ? this.#fleet.queued : this.#waiting.size;
  }

  /**
   * Tokens a call could take right now (0 while calls are waiting: they come
   * first). With a store: as of this instance's last store decision (`limit`
   * before the first), 0 while a refused call's token is not due yet.
   */
  get available(): number {
    if (this.#fleet !== undefined) return this.#fleet.available;
    if (this.#waiting.size > 0) return 0;
    const t = now();
    this.#refill(t);
    const minted = Math.floor(((t - this.#anchor) * this.limit) / this.interval);
    return Math.max(0, Math.min(this.limit, this.limit + minted - this.#taken));
  }

  /** @internal */
  run(ctx: Ctx, next: Next): Promise<unknown> {
    if (this.#fleet !== undefined) return this.#fleet.run(ctx, next);
    // The happy path: nobody waiting and a token in the bucket.
    const t = now();
    if (this.#waiting.size === 0 && this.#tryTake(t)) return next(ctx);
    return this.#queue(ctx, next, t);
  }

  #queue(ctx: Ctx, next: Next, t: number): Promise<unknown> {
    this.#refill(t);
    // Tokens are handed out in order, so this call's token is the one after
    // every waiter's: that is when it would run, and it never runs later.
    const wait = this.#due(this.#taken + this.#waiting.size + 1) - t;
    if (wait > this.maxWait) {
      const retryAfter = Math.ceil(wait);
      if (this.listeners.rejected !== undefined) this.emit('rejected', { retryAfter });
      return Promise.reject(new RateLimitedError(undefined, { retryAfter }));
    }
    if (ctx.aborted) return Promise.reject(ctx.reason);
    const waiter = new Waiter(this, ctx, next);
    this.#waiting.push(waiter);
    if (this.#timer === undefined) this.#arm(t);
    return waiter.wait();
  }

  /** When the bucket has been full since `anchor`, restart the count at `t`: a full bucket holds no more. */
  #refill(t: number): void {
    if (this.#taken === 0 || t >= this.#due(this.#taken + this.limit)) {
      this.#anchor = t;
      this.#taken = 0;
    }
  }

  /** The time token n since the anchor is due. */
  #due(n: number): number {
    return n <= this.limit ? this.#anchor : this.#anchor + ((n - this.limit) * this.interval) / this.limit;
  }

  #tryTake(t: number): boolean {
    this.#refill(t);
    if (t < this.#due(this.#taken + 1)) return false;
    this.#taken++;
    return true;
  }

  /** Hands due tokens to waiters in order, then sleeps until the next one is due. */
  #drain(): void {
    const t = now();
    while (this.#waiting.size > 0 && this.#tryTake(t)) {
      const waiter = this.#waiting.shift()!;
      waiter.detach();
      waiter.resolve(runNext(waiter.stage, waiter.ctx));
    }
    // A waiter's fn may itself have queued a call (and armed the timer) while it ran.
    if (this.#waiting.size > 0 && this.#timer === undefined) this.#arm(t);
  }

  /** One timer, for the head of the queue. */
  #arm(t: number): void {
    // Rounded up: a timer that fires a fraction early would find no token.
    this.#timer = startTimer(this.#wake, Math.max(0, Math.ceil(this.#due(this.#taken + 1) - t)));
  }

  /** @internal The waiter's signal aborted while it was queued. */
  abandon(waiter: Waiter): void {
    if (!this.#waiting.remove(waiter)) return;
    const reason = waiter.ctx.reason;
    waiter.detach();
    // The head's token is due when it was: the timer stays, unless nobody is left.
    if (this.#waiting.size === 0 && this.#timer !== undefined) {
      stopTimer(this.#timer);
      this.#timer = undefined;
    }
    waiter.reject(reason);
  }
}
