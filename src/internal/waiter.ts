import type { Ctx, Next } from './context.js';
import type { Linked } from './queue.js';
import { stopTimer, type TimerHandle } from './timers.js';

/** The policy a waiter queues in: told when the waiter's call is aborted. */
export interface WaitHost {
  abandon(waiter: Waiter): void;
}

/**
 * A call waiting in a Bulkhead or RateLimiter queue: its own queue node, its
 * promise, and its abort listener. It listens on the call's signal only while
 * queued (`detach` removes the listener), so a long-lived caller signal never
 * collects listeners from calls that already ran.
 */
export class Waiter implements Linked<Waiter> {
  prev: Waiter | undefined = undefined;
  next: Waiter | undefined = undefined;
  /** A queue-timeout timer, owned by the host. */
  timer: TimerHandle = undefined;
  /** When it was queued (performance.now()), if its host timed it; NaN otherwise. */
  since = NaN;
  /** Settles the call's promise; given a promise, the call follows it. */
  resolve!: (value: unknown) => void;
  // #private: minifiers shorten these names, plain properties they cannot (bench/bundle.mjs).
  readonly #host: WaitHost;

  // Declared, not parameter properties: an ES2022 build would define them and then assign them.
  declare readonly ctx: Ctx;
  declare readonly stage: Next;

  constructor(host: WaitHost, ctx: Ctx, stage: Next) {
    this.ctx = ctx;
    this.stage = stage;
    this.#host = host;
    // ctx.listen, not ctx.signal: hearing an abort needs no AbortController.
    ctx.listen(this);
  }

  /** @internal The call's signal aborted while queued. (An object listener needs no closure.) */
  handleEvent(): void {
    this.#host.abandon(this);
  }

  /**
   * The call's promise, to return to the caller. Only `resolve` is kept: a
   * rejection goes through it too (below), which saves holding a second
   * function per waiter — 100 000 waiters are 100 000 of them.
   */
  wait(): Promise<unknown> {
    // One executor for every waiter, told its waiter through `current`: no closure per waiter.
    current = this;
    return new Promise(keepResolve);
  }

  /** Rejects the call's promise (a rare path: abort or timeout). */
  reject(reason: unknown): void {
    this.resolve(Promise.reject(reason));
  }

  /** Leaving the queue: drop the abort listener and the timer. */
  detach(): void {
    // Whether it listens is fixed per call (ctx.abortable); unlisten twice is harmless.
    this.ctx.unlisten(this);
    if (this.timer !== undefined) {
      stopTimer(this.timer);
      this.timer = undefined;
    }
  }
}

let current: Waiter | undefined;
function keepResolve(resolve: (value: unknown) => void): void {
  current!.resolve = resolve;
  current = undefined;
}
