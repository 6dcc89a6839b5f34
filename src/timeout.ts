import { TimeoutError } from './errors.js';
import { type AbortListener, type Ctx, type Next, fork } from './internal/context.js';
import { startTimer, stopTimer } from './internal/timers.js';
import { Flag, objectOptions, readEnum, readNumber, required } from './internal/validate.js';
import { PolicyBase } from './policy.js';

/**
 * `'aggressive'` rejects at the deadline, or as soon as the call is aborted,
 * whatever `fn` does; `'cooperative'` aborts `ctx.signal` at the deadline and
 * waits for `fn` to settle.
 */
export type TimeoutStrategy = 'aggressive' | 'cooperative';

/** Options of {@link withTimeout}. */
export interface TimeoutOptions {
  /**
   * `'aggressive'` rejects with `TimeoutError` at the deadline, and with the abort reason as soon as
   * the caller's signal (or an enclosing policy: a timeout, a hedge that lost) aborts the call: it
   * stops waiting for an `fn` that ignores `ctx.signal`. `'cooperative'` only aborts `ctx.signal`
   * and waits: a value is returned, an error becomes `TimeoutError` (with it as `cause`).
   * @default 'aggressive'
   */
  readonly strategy?: TimeoutStrategy | undefined;
}

/** Events of {@link TimeoutPolicy}. */
export interface TimeoutEvents {
  /** A call passed its deadline of `timeout` ms. */
  timeout: { readonly timeout: number };
}

const OWNER = 'withTimeout';

/**
 * Bounds how long a call may take. Create it with {@link withTimeout}.
 *
 * @example
 * ```ts
 * import { TimeoutPolicy } from 'breakwater';
 *
 * const timeout = new TimeoutPolicy(2_000, { strategy: 'cooperative' });
 * ```
 */
export class TimeoutPolicy extends PolicyBase<TimeoutEvents> {
  // Declared, not fields: the constructor creates them either way (a field would cost bytes, bench/bundle.mjs).
  /** The timeout in ms. */
  declare readonly timeout: number;
  /** The strategy in force. */
  declare readonly strategy: TimeoutStrategy;

  constructor(ms: number, options?: TimeoutOptions) {
    super('timeout', OWNER);
    this.timeout = readNumber(OWNER, 'ms', { ms }, undefined, Flag.INFINITE) ?? required(OWNER, 'ms');
    const o = objectOptions<TimeoutOptions>(OWNER, options, 'strategy');
    this.strategy = readEnum(OWNER, 'strategy', o, ['aggressive', 'cooperative'], 'aggressive');
  }

  /** @internal */
  run(ctx: Ctx, next: Next): Promise<unknown> {
    const ms = this.timeout;
    if (ms === Infinity) return next(ctx);
    const aggressive = this.strategy === 'aggressive';
    // Aggressive stops waiting for fn when the caller or an enclosing policy gives up, too.
    if (aggressive && ctx.aborted) return Promise.reject(ctx.reason);
    const inner = fork(ctx);
    const scope = inner.scope!;
    return new Promise((resolve, reject) => {
      let timedOut: TimeoutError | undefined;
      let done = false; // the caller has its answer: fn settled, or (aggressive) the deadline passed or the call was aborted
      // One plain timer per call. A shared per-policy deadline queue would not be
      // cheaper: no timer may outlive a call, so it would be cleared and re-armed
      // whenever it empties, and that is most of what setTimeout costs here (bench/).
      // The TimeoutError is built only when the deadline passes: most calls never need it.
      const timer = startTimer(() => {
        // The caller gave up before the deadline and fn ignored it: the caller's
        // reason ends the call, and it is no timeout to count.
        const callerFirst = ctx.aborted;
        if (!callerFirst) {
          timedOut = new TimeoutError(undefined, { timeout: ms });
          scope.abort(timedOut);
          this.emit('timeout', { timeout: ms }); // emit has its own guard: a deadline is no hot path
        }
        if (aggressive) {
          done = true;
          scope.release();
          reject(callerFirst ? ctx.reason : timedOut);
        }
      }, ms);
      next(inner).then(
        (value) => {
          if (done) return;
          done = true;
          stopTimer(timer);
          scope.release();
          resolve(value);
        },
        (error: unknown) => {
          // Abandoned and late: swallowed here, so it never becomes an unhandled rejection.
          if (done) return;
          done = true;
          stopTimer(timer);
          scope.release();
          if (timedOut === undefined || error === timedOut) reject(error);
          else reject(new TimeoutError(undefined, { timeout: ms, cause: error }));
        },
      );
      // Aggressive: the call's abort (the caller's signal, an enclosing timeout, a
      // hedge that lost) ends it at once too, whether fn heeds its signal or not.
      // Listened for one microtask late: a call that settles at once (next's
      // reaction is queued first) never touches the caller's signal, whose
      // add/removeEventListener cost more than the rest of the timeout. (A
      // reaction on a resolved promise: Node's queueMicrotask costs ~5x more.)
      if (aggressive && ctx.abortable) {
        void Promise.resolve().then(() => {
          if (done) return;
          // Through the scope, which hears the call's abort first and passes it inside: releasing
          // the scope stops the listening. Its own abort at the deadline is no abort of the call.
          const onAbort: AbortListener = {
            handleEvent() {
              if (!ctx.aborted) return;
              done = true;
              stopTimer(timer);
              scope.abort(ctx.reason); // scopes inside hear it even if none had listened upstream yet
              scope.release();
              reject(ctx.reason);
            },
          };
          // Aborted already (the scope too, if fn read its signal): no abort to wait for.
          if (ctx.aborted) onAbort.handleEvent();
          else scope.listen(onAbort);
        });
      }
    });
  }
}

/**
 * Creates a policy that gives up on a call after `ms` milliseconds, aborting
 * `ctx.signal` with a `TimeoutError`.
 *
 * @example
 * ```ts
 * import { withTimeout } from 'breakwater';
 *
 * const timeout = withTimeout(2_000);
 * const res = await timeout.execute(({ signal }) => fetch('https://api.example.com', { signal }));
 * ```
 */
/* @__NO_SIDE_EFFECTS__ */
export function withTimeout(ms: number, options?: TimeoutOptions): TimeoutPolicy {
  return new TimeoutPolicy(ms, options);
}
