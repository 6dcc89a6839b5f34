import { Aimd } from './adaptive/aimd.js';
import type { LimitAlgorithm } from './adaptive/algorithm.js';
import { Gradient } from './adaptive/gradient.js';
import { Vegas } from './adaptive/vegas.js';
import { BulkheadRejectedError, type BulkheadRejectionReason } from './errors.js';
import { isCalledOff, runNext, type Ctx, type Next } from './internal/context.js';
import { FULL, SlotPolicy, type Admission, type Rejection } from './internal/slots.js';
import { now } from './internal/timers.js';
import { Flag, enumOption, functionOption, invalid, numberOption, objectOptions } from './internal/validate.js';

/** How an {@link AdaptiveLimiter} finds its limit. */
export type AdaptiveLimitAlgorithm = 'gradient' | 'vegas' | 'aimd';

/** Options of {@link AdaptiveLimiter}. */
export interface AdaptiveLimiterOptions {
  /**
   * The limit to start from, an integer in [`minLimit`, `maxLimit`].
   * @default 20 (or the nearer bound, when 20 lies outside them)
   */
  readonly initialLimit?: number | undefined;
  /**
   * The limit never falls below this; an integer >= 1.
   * @default 1
   */
  readonly minLimit?: number | undefined;
  /**
   * The limit never rises above this; an integer >= `minLimit`, or `Infinity`.
   * @default 1000
   */
  readonly maxLimit?: number | undefined;
  /**
   * `'gradient'`: long- vs short-term latency. `'vegas'`: the queue size
   * estimated from the lowest latency seen. `'aimd'`: +1 on success, × 0.9 on a
   * handled failure (pair it with a timeout inside the limiter).
   * @default 'gradient'
   */
  readonly algorithm?: AdaptiveLimitAlgorithm | undefined;
  /**
   * Calls allowed to wait, in FIFO order, for a slot once `limit` are running;
   * an integer >= 0 or `Infinity`. Beyond it a call is rejected at once.
   * @default 0
   */
  readonly maxQueue?: number | undefined;
  /**
   * How long, in ms, a call may wait in the queue before it is rejected with
   * `BulkheadRejectedError` (`reason: 'queue-timeout'`). `undefined` waits as long as it takes.
   * @default undefined
   */
  readonly queueTimeout?: number | undefined;
  /**
   * Which thrown errors count as drops (the limit shrinks). Others count
   * neither way. The caller's own abort never counts, whatever this says.
   * @default every error
   */
  readonly handle?: ((error: unknown) => boolean) | undefined;
  /**
   * Which returned values count as drops (e.g. a 503 `Response`).
   * @default none
   */
  readonly handleResult?: ((value: unknown) => boolean) | undefined;
}

/** Events of {@link AdaptiveLimiter}. */
export interface AdaptiveLimiterEvents {
  /**
   * A call got its slot and starts now, after waiting `waited` ms in the queue (0 when a slot was
   * free; absent for a call that was queued before anyone listened).
   */
  admitted: Admission;
  /** The limit moved (sent only when it changes). */
  limitChange: { readonly from: number; readonly to: number };
  /** A call was turned away: `limit` calls running and no room in the queue, or it waited `queueTimeout`. */
  rejected: { readonly reason: BulkheadRejectionReason };
}

const OWNER = 'AdaptiveLimiter';
const ALGORITHMS: readonly AdaptiveLimitAlgorithm[] = ['gradient', 'vegas', 'aimd'];
/** Far below the limit, one call in SAMPLE_MASK + 1 (32) is timed: enough to keep the latency baseline fresh. */
const SAMPLE_MASK = 31;

/**
 * A concurrency limit that finds itself, and a Policy. Like a `Bulkhead`, at
 * most `limit` calls of `fn` run at once, up to `maxQueue` more wait in FIFO
 * order, and the rest are rejected at once with `BulkheadRejectedError`.
 * Unlike a `Bulkhead`, `limit` moves: it grows while latency stays near the
 * algorithm's estimate of the downstream's unloaded latency and the limit is
 * what holds calls back, and shrinks when latency rises above it (the
 * downstream is queueing) or calls fail with a handled error. Calls already
 * running when the limit falls are not recalled.
 *
 * @example
 * ```ts
 * import { AdaptiveLimiter, BulkheadRejectedError } from 'breakwater';
 *
 * const limiter = new AdaptiveLimiter({ initialLimit: 10, maxLimit: 200 });
 * limiter.on('limitChange', ({ from, to }) => console.log(`limit ${from} -> ${to}`));
 * try {
 *   await limiter.execute(({ signal }) => fetch('https://api.example.com/items', { signal }));
 * } catch (error) {
 *   if (error instanceof BulkheadRejectedError) console.log(`shed: ${limiter.active} running`);
 * }
 * ```
 */
export class AdaptiveLimiter extends SlotPolicy<AdaptiveLimiterEvents> {
  /** The most calls that wait for a slot. */
  readonly maxQueue: number;
  /** How long a call may wait in the queue, in ms; `Infinity` when unbounded. */
  readonly queueTimeout: number;
  // #private: minifiers shorten these names, plain properties they cannot (bench/bundle.mjs).
  #limit: number;
  #running = 0;
  #tick = 0;
  readonly #algorithm: LimitAlgorithm;
  readonly #handle: ((error: unknown) => boolean) | undefined;
  readonly #handleResult: ((value: unknown) => boolean) | undefined;
  // Bound once: an untimed call that cannot be aborted attaches no closures of its own.
  readonly #settledValue: (value: unknown) => unknown;
  readonly #settledError: (error: unknown) => never;

  constructor(options?: AdaptiveLimiterOptions) {
    super('admitted limitChange rejected', OWNER);
    const o = objectOptions<AdaptiveLimiterOptions>(OWNER, options, 'initialLimit minLimit maxLimit algorithm maxQueue queueTimeout handle handleResult');
    const min = numberOption(OWNER, 'minLimit', o.minLimit, 1, Flag.INTEGER, 1);
    const max = numberOption(OWNER, 'maxLimit', o.maxLimit, 1000, Flag.INTEGER | Flag.INFINITE, 1);
    if (min > max) invalid(OWNER, 'minLimit', `at most maxLimit (${max})`, min, RangeError);
    const initial = numberOption(OWNER, 'initialLimit', o.initialLimit, Math.min(max, Math.max(min, 20)), Flag.INTEGER, 1);
    if (initial < min || initial > max) invalid(OWNER, 'initialLimit', `in [minLimit, maxLimit] = [${min}, ${max}]`, initial, RangeError);
    const algorithm = enumOption(OWNER, 'algorithm', o.algorithm, ALGORITHMS, 'gradient');
    this.#algorithm = new (algorithm === 'gradient' ? Gradient : algorithm === 'vegas' ? Vegas : Aimd)(initial, min, max);
    this.#limit = initial;
    this.maxQueue = numberOption(OWNER, 'maxQueue', o.maxQueue, 0, Flag.INTEGER | Flag.INFINITE);
    this.queueTimeout = numberOption(OWNER, 'queueTimeout', o.queueTimeout, Infinity, Flag.INFINITE);
    this.#handle = functionOption(OWNER, 'handle', o.handle);
    this.#handleResult = functionOption(OWNER, 'handleResult', o.handleResult);
    this.#settledValue = (value) => {
      // The happy path of an untimed call: nothing to tell the algorithm unless handleResult calls it a drop.
      if (this.#handleResult !== undefined && this.#classify(this.#handleResult, value)) this.#moveTo(this.#algorithm.drop());
      this.#release();
      return value;
    };
    this.#settledError = (error) => this.#ended(NaN, this.#classify(this.#handle, error), error, true);
  }

  /** The current limit: calls of `fn` allowed to run at once. */
  get limit(): number {
    return this.#limit;
  }

  /** Calls of `fn` running now. */
  get active(): number {
    return this.#running;
  }

  /** @internal */
  run(ctx: Ctx, next: Next): Promise<unknown> {
    // A free slot implies an empty queue: every change of the limit or the count drains the queue first.
    if (this.#running < this.#limit) {
      this.#running++;
      if (this.stopsOnAdmit(ctx)) {
        this.#release();
        return Promise.reject(ctx.reason);
      }
      return this.#start(ctx, next);
    }
    return this.enqueue(ctx, next);
  }

  /** @internal Its own messages; the reason is the payload's, as a Bulkhead's. */
  protected override rejection(payload: Rejection): BulkheadRejectedError {
    return new BulkheadRejectedError(payload === FULL ? 'AdaptiveLimiter is at its limit' : 'AdaptiveLimiter queue timeout', payload);
  }

  /** Runs the call in a slot it already holds. */
  #start(ctx: Ctx, next: Next): Promise<unknown> {
    // Reading the clock twice costs more than the rest of the call (~40 ns a read):
    // far below the limit, where it cannot move the limit up, one call in 32 is timed.
    if (this.#running * 2 >= this.#limit || (++this.#tick & SAMPLE_MASK) === 0) {
      const start = now();
      return runNext(next, ctx).then(
        (value) => this.#ended(start, this.#handleResult !== undefined && this.#classify(this.#handleResult, value), value),
        (error: unknown) => this.#ended(start, !isCalledOff(ctx) && this.#classify(this.#handle, error), error, true),
      );
    }
    // Unabortable, a call cannot be the caller's own abort: the bound reactions classify it.
    if (!ctx.abortable) return runNext(next, ctx).then(this.#settledValue, this.#settledError);
    return runNext(next, ctx).then(this.#settledValue, (error: unknown) =>
      this.#ended(NaN, !isCalledOff(ctx) && this.#classify(this.#handle, error), error, true),
    );
  }

  /** Runs `handle`/`handleResult` (`undefined`: every error); one that throws frees the slot first. */
  #classify(predicate: ((x: unknown) => boolean) | undefined, x: unknown): boolean {
    if (predicate === undefined) return true;
    try {
      return predicate(x);
    } catch (error) {
      this.#release();
      throw error;
    }
  }

  /** A call that held a slot ended: tell the algorithm, free the slot, pass the outcome on. */
  #ended(start: number, dropped: boolean, outcome: unknown, thrown?: true): never;
  #ended(start: number, dropped: boolean, outcome: unknown): unknown;
  #ended(start: number, dropped: boolean, outcome: unknown, thrown?: true): unknown {
    const a = this.#algorithm;
    // A timed call that ended well is a latency sample; a handled failure a drop; anything else neither.
    if (dropped) this.#moveTo(a.drop());
    else if (start === start && !thrown) this.#moveTo(a.sample(now() - start, this.#running));
    this.#release();
    if (thrown) throw outcome;
    return outcome;
  }

  #moveTo(estimate: number): void {
    const to = Math.floor(estimate);
    const from = this.#limit;
    if (to === from) return;
    this.#limit = to;
    if (this.listeners.limitChange !== undefined) this.emit('limitChange', { from, to });
  }

  /** Frees a slot, and starts as many waiters as the (maybe moved) limit allows. */
  #release(): void {
    this.#running--;
    while (this.#running < this.#limit && this.queued > 0) {
      this.#running++; // before shift, which emits `admitted`: a listener reads `active` with this call in it
      const waiter = this.shift();
      if (waiter === undefined) {
        this.#running--; // every waiter left was aborted by an `admitted` listener
        break;
      }
      waiter.resolve(this.#start(waiter.ctx, waiter.stage));
    }
  }
}
