import { BulkheadRejectedError, type BulkheadRejectionReason } from '../errors.js';
import { PolicyBase } from '../policy.js';
import type { Ctx, Next } from './context.js';
import { LinkedQueue } from './queue.js';
import { now, startTimer } from './timers.js';
import { Waiter } from './waiter.js';

/** The payload of a `rejected` event. */
export interface Rejection {
  readonly reason: BulkheadRejectionReason;
}

/** The payload of an `admitted` event. */
export interface Admission {
  /** How long the call waited in the queue, in ms (0 when a slot was free); absent for a call queued before anyone listened. */
  readonly waited?: number;
}

// Shared payloads (and the errors' options): emitting allocates nothing, and listeners cannot tell the difference.
// Marked pure so a bundler drops them, and this module, from apps that never use a bulkhead.
export const FULL: Rejection = /* @__PURE__ */ Object.freeze({ reason: 'full' as const });
export const QUEUE_TIMEOUT: Rejection = /* @__PURE__ */ Object.freeze({ reason: 'queue-timeout' as const });


/**
 * The queue of a policy that runs a limited number of calls at once (Bulkhead,
 * AdaptiveLimiter): FIFO waiters, each leaving at once when its signal aborts
 * or when it has waited `queueTimeout`. The policy keeps its own count of
 * running calls and decides, when a slot frees, how many waiters to `shift`
 * out and start: the hot path (a free slot) never reaches this class.
 */
export abstract class SlotPolicy<E extends { rejected: Rejection; admitted: Admission }> extends PolicyBase<E> {
  /** The most calls that wait for a slot. */
  abstract readonly maxQueue: number;
  /** How long a call may wait in the queue, in ms; `Infinity` when unbounded. */
  abstract readonly queueTimeout: number;
  // #private: minifiers shorten these names, plain properties they cannot (bench/bundle.mjs).
  readonly #waiting = new LinkedQueue<Waiter>();

  /** Calls waiting for a slot now. */
  get queued(): number {
    return this.#waiting.size;
  }

  /** @internal No slot is free: the call waits its turn, or is rejected when the queue is full. */
  protected enqueue(ctx: Ctx, next: Next): Promise<unknown> {
    if (this.#waiting.size >= this.maxQueue) {
      this.emit('rejected', FULL as E['rejected']); // a constant payload: emit's own check is enough
      return Promise.reject(this.rejection(FULL));
    }
    if (ctx.aborted) return Promise.reject(ctx.reason);
    const waiter = new Waiter(this, ctx, next);
    // Timed only for someone who listens: a clock read costs a queued call more than the rest of its queueing (bench/).
    if (this.listeners.admitted !== undefined) waiter.since = now();
    if (this.queueTimeout !== Infinity) waiter.timer = startTimer(() => this.#expire(waiter), this.queueTimeout);
    this.#waiting.push(waiter);
    return waiter.wait();
  }

  /**
   * @internal A call took a free slot: tells `admitted` listeners (the payload is built only
   * for one) and returns whether one of them aborted the call, which then must not start.
   */
  protected stopsOnAdmit(ctx: Ctx): boolean {
    if (this.listeners.admitted === undefined) return false;
    this.emit('admitted', { waited: 0 } as E['admitted']);
    return ctx.aborted;
  }

  /**
   * @internal The oldest waiter, out of the queue and no longer listening or timed, which the
   * caller starts at once (`admitted` is emitted for it); `undefined` if none.
   */
  protected shift(): Waiter | undefined {
    let waiter: Waiter | undefined;
    while ((waiter = this.#waiting.shift()) !== undefined) {
      waiter.detach();
      if (this.listeners.admitted === undefined) break;
      const since = waiter.since;
      this.emit('admitted', (since === since ? { waited: now() - since } : {}) as E['admitted']);
      // A listener that aborted the call stops it: it does not start, and the slot goes on to the next waiter.
      if (!waiter.ctx.aborted) break;
      waiter.reject(waiter.ctx.reason);
    }
    return waiter;
  }

  /** @internal The error a call turned away ends with (`undefined` message: the error's own, by reason). */
  protected rejection(payload: Rejection): BulkheadRejectedError {
    return new BulkheadRejectedError(undefined, payload);
  }

  /** @internal The waiter's signal aborted while it was queued. */
  abandon(waiter: Waiter): void {
    if (!this.#waiting.remove(waiter)) return;
    waiter.detach();
    waiter.reject(waiter.ctx.reason);
  }

  #expire(waiter: Waiter): void {
    if (!this.#waiting.remove(waiter)) return;
    waiter.detach(); // its timer fired: stopping it again is harmless
    this.emit('rejected', QUEUE_TIMEOUT as E['rejected']);
    waiter.reject(this.rejection(QUEUE_TIMEOUT));
  }
}
