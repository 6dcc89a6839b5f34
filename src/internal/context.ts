import type { PolicyContext } from '../policy.js';
import { startTimer, stopTimer } from './timers.js';

/** The user's function, as every policy stores it. */
export type Fn = (ctx: PolicyContext) => unknown;

/** The rest of a pipeline, inside the current policy. Always returns a native promise. */
export type Next = (ctx: Ctx) => Promise<unknown>;

/**
 * An abort scope: one per timeout or hedge attempt, so that policy can abort
 * its own part of a call. Its AbortController is created only when someone
 * reads the signal (an AbortController costs microseconds; most calls never
 * look), and it listens on its parent's signal only while its owner is
 * running, so a long-lived caller signal is left with no listeners.
 */
export class Scope {
  private controller: AbortController | undefined = undefined;
  private upstream: AbortSignal | undefined = undefined;
  private aborted = false;
  private released = false;
  private abortReason: unknown = undefined;

  constructor(
    private readonly parent: Scope | undefined,
    private readonly callerSignal: AbortSignal | undefined,
  ) {}

  isAborted(): boolean {
    if (this.aborted) return true;
    if (this.parent !== undefined) return this.parent.isAborted();
    return this.callerSignal !== undefined && this.callerSignal.aborted;
  }

  reason(): unknown {
    if (this.aborted) return this.abortReason;
    return this.parent !== undefined ? this.parent.reason() : this.callerSignal?.reason;
  }

  get signal(): AbortSignal {
    if (this.controller !== undefined) return this.controller.signal;
    const controller = (this.controller = new AbortController());
    if (this.aborted) {
      controller.abort(this.abortReason);
    } else if (!this.released) {
      const up = this.parent !== undefined ? this.parent.signal : this.callerSignal;
      if (up !== undefined) {
        if (up.aborted) this.abort(up.reason);
        else {
          this.upstream = up;
          up.addEventListener('abort', this);
        }
      }
    }
    return controller.signal;
  }

  /** Aborts this scope (and so every scope inside it) with `reason`. */
  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.abortReason = reason;
    this.unlink();
    this.controller?.abort(reason);
  }

  /** The owner is done: stop listening upstream. The signal is left as it is (a body may still stream). */
  release(): void {
    this.released = true;
    this.unlink();
  }

  /** @internal The upstream signal aborted. (An object listener needs no closure.) */
  handleEvent(): void {
    this.abort(this.upstream?.reason);
  }

  private unlink(): void {
    if (this.upstream === undefined) return;
    this.upstream.removeEventListener('abort', this);
    this.upstream = undefined;
  }
}

/**
 * The context a call carries through a pipeline; what `fn` receives as
 * `PolicyContext`. Policies that change neither the signal nor the attempt
 * pass it on as it is.
 */
export class Ctx implements PolicyContext {
  private own: AbortSignal | undefined = undefined;

  constructor(
    /** @internal */ readonly fn: Fn,
    readonly attempt: number,
    /** @internal */ readonly scope: Scope | undefined,
    /** @internal */ readonly callerSignal: AbortSignal | undefined,
  ) {}

  get signal(): AbortSignal {
    if (this.scope !== undefined) return this.scope.signal;
    if (this.callerSignal !== undefined) return this.callerSignal;
    // Nothing can abort this call: a fresh signal, never shared, so listeners
    // that user code forgets to remove cannot pile up on it.
    return (this.own ??= new AbortController().signal);
  }

  /** Whether the caller or an enclosing policy has given up on this call. */
  get aborted(): boolean {
    if (this.scope !== undefined) return this.scope.isAborted();
    return this.callerSignal !== undefined && this.callerSignal.aborted;
  }

  /** Why it gave up. */
  get reason(): unknown {
    return this.scope !== undefined ? this.scope.reason() : this.callerSignal?.reason;
  }

  withAttempt(attempt: number): Ctx {
    return attempt === this.attempt ? this : new Ctx(this.fn, attempt, this.scope, this.callerSignal);
  }

  /** A context inside a new abort scope, which the caller owns and must release. */
  fork(): Ctx {
    return new Ctx(this.fn, this.attempt, new Scope(this.scope, this.callerSignal), this.callerSignal);
  }
}

/** The innermost stage of every pipeline: calls the user's function, always yielding a native promise. */
export function invoke(ctx: Ctx): Promise<unknown> {
  try {
    const result = ctx.fn(ctx);
    return result instanceof Promise ? result : Promise.resolve(result);
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * Resolves after `ms`, or rejects with the abort reason as soon as `ctx` is
 * aborted. Always goes through a real timer, even for 0 ms, so a tight retry
 * loop still lets timers and I/O (an abort, an outer timeout) run.
 */
export function sleep(ms: number, ctx: Ctx): Promise<void> {
  if (ctx.aborted) return Promise.reject(ctx.reason);
  // Nothing can abort this call: a plain timer (reading ctx.signal would create an AbortController to listen on).
  if (ctx.scope === undefined && ctx.callerSignal === undefined) return new Promise((resolve) => startTimer(resolve, ms));
  const signal = ctx.signal;
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      stopTimer(timer);
      reject(signal.reason);
    };
    const timer = startTimer(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
