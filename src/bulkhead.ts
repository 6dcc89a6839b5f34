import type { BulkheadRejectionReason } from './errors.js';
import { runNext, type Ctx, type Next } from './internal/context.js';
import { SlotPolicy, type Admission } from './internal/slots.js';
import { Flag, objectOptions, readNumber, required } from './internal/validate.js';

/** Options of {@link Bulkhead}. */
export interface BulkheadOptions {
  /**
   * Calls of `fn` allowed to run at once; an integer >= 1. Required.
   */
  readonly maxConcurrent: number;
  /**
   * Calls allowed to wait, in FIFO order, for a slot once all are taken; an
   * integer >= 0 or `Infinity`. Beyond it a call is rejected at once.
   * @default 0
   */
  readonly maxQueue?: number | undefined;
  /**
   * How long, in ms, a call may wait in the queue before it is rejected with
   * `BulkheadRejectedError` (`reason: 'queue-timeout'`). `undefined` waits as
   * long as it takes.
   * @default undefined
   */
  readonly queueTimeout?: number | undefined;
}

/** Events of {@link Bulkhead}. */
export interface BulkheadEvents {
  /**
   * A call got its slot and starts now, after waiting `waited` ms in the queue (0 when a slot was
   * free; absent for a call that was queued before anyone listened).
   */
  admitted: Admission;
  /** A call was turned away: no slot and no room in the queue, or it waited `queueTimeout` in the queue. */
  rejected: { readonly reason: BulkheadRejectionReason };
}

const OWNER = 'Bulkhead';

/**
 * A semaphore and a Policy: at most `maxConcurrent` calls of `fn` run at once,
 * up to `maxQueue` more wait their turn in FIFO order, and the rest are
 * rejected at once with `BulkheadRejectedError`. A queued call whose signal
 * aborts leaves the queue at once, rejecting with the abort reason. When a
 * call settles its slot passes straight to the oldest waiter, so a newcomer
 * never jumps the queue.
 *
 * @example
 * ```ts
 * import { Bulkhead } from 'breakwater';
 * import pg from 'pg';
 *
 * // As many slots as the pool has connections: callers queue here, with a deadline.
 * const pool = new pg.Pool({ max: 10 });
 * const db = new Bulkhead({ maxConcurrent: 10, maxQueue: 100, queueTimeout: 2_000 });
 * db.on('rejected', ({ reason }) => console.warn(`database bulkhead: ${reason}`));
 * const { rows } = await db.execute(() => pool.query('SELECT 1'));
 * console.log(db.active, db.queued);
 * ```
 */
export class Bulkhead extends SlotPolicy<BulkheadEvents> {
  // Declared, not fields: the constructor creates them, in this order, either way; a field
  // would be defined and then assigned, which costs the core bundle bytes (bench/bundle.mjs).
  /** The most calls of `fn` that run at once. */
  declare readonly maxConcurrent: number;
  /** The most calls that wait for a slot. */
  declare readonly maxQueue: number;
  /** How long a call may wait in the queue, in ms; `Infinity` when unbounded. */
  declare readonly queueTimeout: number;
  // #private: minifiers shorten these names, plain properties they cannot (bench/bundle.mjs).
  #running = 0;
  // Bound once, so a call that runs attaches no closures of its own.
  readonly #settledValue = (value: unknown): unknown => {
    this.#release();
    return value;
  };
  readonly #settledError = (error: unknown): never => {
    this.#release();
    throw error;
  };

  constructor(options: BulkheadOptions) {
    super('admitted rejected', OWNER);
    const o = objectOptions<BulkheadOptions>(OWNER, options, 'maxConcurrent maxQueue queueTimeout');
    this.maxConcurrent = readNumber(OWNER, 'maxConcurrent', o, undefined, Flag.INTEGER, 1) ?? required(OWNER, 'maxConcurrent');
    this.maxQueue = readNumber(OWNER, 'maxQueue', o, 0, Flag.INTEGER | Flag.INFINITE);
    this.queueTimeout = readNumber(OWNER, 'queueTimeout', o, Infinity, Flag.INFINITE);
  }

  /** Calls of `fn` running now. */
  get active(): number {
    return this.#running;
  }

  /** @internal */
  run(ctx: Ctx, next: Next): Promise<unknown> {
    // A free slot implies an empty queue: slots are handed to waiters, never freed under them.
    if (this.#running < this.maxConcurrent) {
      this.#running++;
      if (this.stopsOnAdmit(ctx)) {
        this.#release();
        return Promise.reject(ctx.reason);
      }
      // The slot is released (or handed on) when the call settles.
      return runNext(next, ctx).then(this.#settledValue, this.#settledError);
    }
    return this.enqueue(ctx, next);
  }

  #release(): void {
    const waiter = this.shift();
    if (waiter === undefined) {
      this.#running--;
      return;
    }
    // The slot goes straight to the oldest waiter: `running` never dips, so no newcomer can take it.
    // The waiter's promise gets the outcome itself, not `fn`'s promise to
    // follow: following a promise costs two more promise jobs per waiter.
    runNext(waiter.stage, waiter.ctx).then(
      (value) => {
        this.#release();
        waiter.resolve(value);
      },
      (error: unknown) => {
        this.#release();
        waiter.reject(error);
      },
    );
  }
}
