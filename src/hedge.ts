import { countFirstAttempt } from './internal/budget.js';
import { type Ctx, type Next, fork } from './internal/context.js';
import { finals } from './internal/final.js';
import { startTimer, stopTimer, type TimerHandle } from './internal/timers.js';
import { Flag, functionOption, invalid, numberOption, objectOptions, required } from './internal/validate.js';
import { PolicyBase } from './policy.js';
import type { Outcome, RetryBudgetLike } from './retry.js';

/** Options of {@link hedge}. */
export interface HedgeOptions {
  /**
   * How long to wait for an answer before starting another attempt, in ms: a number, or
   * `(attempt) => ms` where `attempt` is the number of the attempt last started (1 for the
   * wait after the first). `0` starts every attempt at once; `Infinity` hedges only on failure.
   * Required: a good value sits near the latency percentile you want to cut, e.g. p95.
   */
  readonly delay: number | ((attempt: number) => number);
  /**
   * Extra attempts allowed after the first, so at most `maxHedges + 1` run.
   * @default 1
   */
  readonly maxHedges?: number | undefined;
  /**
   * Which thrown errors count as failures: a failed attempt starts the next hedge at once and
   * never wins. An error this rejects is an answer: it wins the race and is rethrown.
   * @default every error
   */
  readonly handle?: ((error: unknown) => boolean) | undefined;
  /**
   * Which returned values count as failures (e.g. a 503 `Response`).
   * @default none
   */
  readonly handleResult?: ((value: unknown) => boolean) | undefined;
  /**
   * A shared `RetryBudget`: every hedge is a retry for it and is not started when it refuses.
   * @default undefined
   */
  readonly budget?: RetryBudgetLike | undefined;
}

/** Events of {@link HedgePolicy}. */
export interface HedgeEvents {
  /**
   * Attempt number `attempt` (2 or more) started, `delay` ms after the one before it;
   * `delay` is 0 when it started at once because the one before failed.
   */
  hedge: { readonly attempt: number; readonly delay: number };
  /**
   * Attempt number `attempt` (1 for the first, 2 or more for a hedge) gave the answer that won the
   * race: a value, or an error that `handle` does not count as a failure. Not emitted when every
   * attempt failed, when the call was aborted, or with `maxHedges: 0` (no race is run).
   */
  win: { readonly attempt: number };
}

const OWNER = 'hedge';

/**
 * Hedged requests: when an answer is slow, start another attempt and take the
 * first acceptable one. Create it with {@link hedge}.
 *
 * @example
 * ```ts
 * import { HedgePolicy } from 'breakwater';
 *
 * const hedged = new HedgePolicy({ delay: 150, maxHedges: 2 });
 * ```
 */
export class HedgePolicy extends PolicyBase<HedgeEvents> {
  /** Extra attempts allowed after the first. */
  readonly maxHedges: number;
  /** @internal */ readonly delayOf: (attempt: number) => number;
  /** @internal */ readonly handle: HedgeOptions['handle'];
  /** @internal */ readonly handleResult: HedgeOptions['handleResult'];
  /** @internal */ readonly budget: RetryBudgetLike | undefined;

  constructor(options: HedgeOptions) {
    super('hedge win', OWNER);
    const o = objectOptions<HedgeOptions>(OWNER, options, 'delay maxHedges handle handleResult budget');
    if (o.delay === undefined) required(OWNER, 'delay');
    if (typeof o.delay === 'function') {
      const fn = o.delay;
      // A NaN or negative delay from the function means "now".
      this.delayOf = (attempt) => {
        const ms = fn(attempt);
        return ms >= 0 ? ms : 0;
      };
    } else {
      const ms = numberOption(OWNER, 'delay', o.delay, 0, Flag.INFINITE);
      this.delayOf = () => ms;
    }
    this.maxHedges = numberOption(OWNER, 'maxHedges', o.maxHedges, 1, Flag.INTEGER);
    this.handle = functionOption(OWNER, 'handle', o.handle);
    this.handleResult = functionOption(OWNER, 'handleResult', o.handleResult);
    if (o.budget !== undefined && (typeof o.budget?.tryRetry !== 'function' || typeof o.budget.onFirstAttempt !== 'function')) {
      invalid(OWNER, 'budget', 'a RetryBudget', o.budget);
    }
    this.budget = o.budget;
  }

  /** @internal */
  run(ctx: Ctx, next: Next): Promise<unknown> {
    if (ctx.aborted) return Promise.reject(ctx.reason);
    // Inside a retry, only its first attempt is a first attempt for the budget:
    // the retry already asked the budget for the others. And a policy around
    // this one that shares the budget has counted the call already.
    if (this.budget !== undefined && ctx.attempt === 1) {
      try {
        countFirstAttempt(ctx, this.budget);
      } catch (error) {
        return Promise.reject(error); // a custom budget that throws fails the call; execute still returns a promise
      }
    }
    if (this.maxHedges === 0) return next(ctx);
    return new Promise((resolve, reject) => new Race(this, ctx, next, resolve, reject).begin());
  }

  /** @internal */
  emitHedge(attempt: number, delay: number): void {
    if (this.listeners.hedge !== undefined) this.emit('hedge', { attempt, delay });
  }

  /** @internal */
  emitWin(attempt: number): void {
    if (this.listeners.win !== undefined) this.emit('win', { attempt });
  }
}

/** One hedged call: its attempts, the timer to the next one, and how it ends. */
class Race {
  // #private: minifiers shorten these names, plain properties they cannot (bench/bundle.mjs).
  readonly #attempts: Ctx[] = [];
  readonly #running: boolean[] = [];
  #timer: TimerHandle = undefined;
  #timerDelay = 0;
  #pending = 0;
  #done = false;
  #stopped = false; // no more hedges: the budget refused, or they ran out
  #listening = false;

  readonly #policy: HedgePolicy;
  readonly #ctx: Ctx;
  readonly #next: Next;
  readonly #resolve: (value: unknown) => void;
  readonly #reject: (error: unknown) => void;

  constructor(policy: HedgePolicy, ctx: Ctx, next: Next, resolve: (value: unknown) => void, reject: (error: unknown) => void) {
    this.#policy = policy;
    this.#ctx = ctx;
    this.#next = next;
    this.#resolve = resolve;
    this.#reject = reject;
  }

  begin(): void {
    // The caller's abort must stop the delay timer and end the race at once.
    // ctx.listen, not ctx.signal: hearing the abort needs no AbortController.
    this.#listening = this.#ctx.listen(this);
    this.#launch(0);
  }

  /** Starts the next attempt, then schedules the one after it (or starts it now when its delay is 0). */
  #launch(delay: number): void {
    for (;;) {
      const n = this.#attempts.length + 1;
      if (n > 1) {
        this.#policy.emitHedge(n, delay);
        // A listener that aborted the caller ended the race: the attempt must not start.
        if (this.#done || this.#ctx.aborted) return;
      }
      // ctx.attempt stays the nearest retry's: a hedge is no retry (the contract).
      const attempt = fork(this.#ctx);
      const i = this.#attempts.push(attempt) - 1;
      this.#running.push(true);
      this.#pending++;
      this.#next(attempt).then(
        (value) => this.#settle(i, { value }),
        (error: unknown) => this.#settle(i, { error }),
      );
      if (this.#done) return; // cannot settle synchronously, but an abort listener may have run
      if (n > this.#policy.maxHedges) {
        this.#stopped = true;
        return;
      }
      try {
        delay = this.#policy.delayOf(n);
      } catch (error) {
        return this.#finishWith({ error });
      }
      if (this.#done) return; // the delay function aborted the caller: no timer for a race that ended
      if (delay > 0) {
        this.#timerDelay = delay;
        this.#timer = startTimer(() => this.#onTimer(), delay);
        return;
      }
      if (!this.#mayHedge()) return;
    }
  }

  #onTimer(): void {
    this.#timer = undefined;
    if (!this.#done && this.#mayHedge()) this.#launch(this.#timerDelay);
  }

  /** Whether another attempt may start now; asks the budget, which counts it when it says yes. */
  #mayHedge(): boolean {
    if (this.#stopped || this.#ctx.aborted) return false;
    // The request went out and cannot be sent again (internal/final.ts): a hedge would send nothing.
    if (finals.has(this.#ctx.fn)) {
      this.#stopped = true;
      return false;
    }
    if (this.#policy.budget === undefined) return true;
    let allowed: boolean;
    try {
      allowed = this.#policy.budget.tryRetry();
    } catch (error) {
      this.#finishWith({ error }); // a custom budget that throws fails the call (this may run in a timer)
      return false;
    }
    if (!allowed) this.#stopped = true;
    return allowed;
  }

  #settle(i: number, outcome: Outcome): void {
    if (this.#done) return; // a loser's late answer: dropped (its scope was aborted and released)
    this.#running[i] = false;
    this.#pending--;
    this.#attempts[i]!.scope!.release();
    let failed: boolean;
    try {
      failed = this.#failed(outcome);
    } catch (error) {
      return this.#finishWith({ error }); // a throwing handle/handleResult fails the call, never hangs it
    }
    if (!failed) {
      // handle/handleResult may have aborted the caller: the abort ended the race, and no attempt won.
      if (this.#done) return;
      this.#finishWith(outcome);
      // After the race is over (the losers aborted): a listener can no longer change its outcome.
      return this.#policy.emitWin(i + 1);
    }
    // Polly's rule: a failure does not wait out the delay; the next hedge starts
    // now. (Without a timer and not stopped, the delay is Infinity: hedge on failure only.)
    if (this.#timer !== undefined) {
      stopTimer(this.#timer);
      this.#timer = undefined;
    }
    if (this.#mayHedge()) return this.#launch(0);
    if (this.#pending === 0) this.#finishWith(outcome);
  }

  #failed(outcome: Outcome): boolean {
    const p = this.#policy;
    if ('error' in outcome) return !this.#ctx.aborted && (p.handle === undefined || p.handle(outcome.error));
    return p.handleResult !== undefined && p.handleResult(outcome.value);
  }

  /** The caller (or an enclosing policy) aborted: stop hedging and reject with its reason at once. */
  handleEvent(): void {
    if (this.#done) return;
    const reason = this.#ctx.reason;
    // The attempts are aborted with the caller's reason, not as losers.
    this.#finishWith({ error: reason }, reason);
  }

  #finishWith(outcome: Outcome, abortReason?: unknown): void {
    if (this.#done) return;
    this.#done = true;
    if (this.#timer !== undefined) stopTimer(this.#timer);
    this.#timer = undefined;
    if (this.#listening) this.#ctx.unlisten(this);
    this.#listening = false;
    let lost = abortReason;
    for (let i = 0; i < this.#attempts.length; i++) {
      if (!this.#running[i]) continue;
      this.#running[i] = false;
      const scope = this.#attempts[i]!.scope!;
      // Built only when a loser is still running.
      lost ??= new DOMException('Another hedged attempt answered first', 'AbortError');
      scope.abort(lost);
      scope.release();
    }
    if ('error' in outcome) this.#reject(outcome.error);
    else this.#resolve(outcome.value);
  }
}

/**
 * Creates a hedging policy: when no acceptable answer comes within `delay` ms,
 * start another attempt (up to `maxHedges` more); the first acceptable answer
 * wins and the others are aborted through `ctx.signal`. A failed attempt starts
 * the next one at once. When every attempt fails, the failure that came last is
 * returned or rethrown. `ctx.attempt` is left alone: it stays the attempt number of the
 * nearest enclosing retry (1 without one); the `hedge` event numbers the hedged attempts.
 *
 * @example
 * ```ts
 * import { hedge } from 'breakwater';
 *
 * const hedged = hedge({ delay: 200, maxHedges: 2 });
 * hedged.on('hedge', ({ attempt }) => console.log(`slow answer: attempt ${attempt} started`));
 * const res = await hedged.execute(({ signal }) => fetch('https://api.example.com/search?q=x', { signal }));
 * ```
 */
/* @__NO_SIDE_EFFECTS__ */
export function hedge(options: HedgeOptions): HedgePolicy {
  return new HedgePolicy(options);
}
