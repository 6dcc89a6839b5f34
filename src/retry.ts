import { backoffDelay, type BackoffSchedule, type Jitter } from './backoff.js';
import { countFirstAttempt } from './internal/budget.js';
import { type Ctx, type Next, runNext, sleep } from './internal/context.js';
import { finals } from './internal/final.js';
import { now } from './internal/timers.js';
import { Flag, invalid, objectOptions, readEnum, readFunction, readNumber } from './internal/validate.js';
import { PolicyBase } from './policy.js';

/** What an attempt ended with: a thrown error or a returned value. */
export type Outcome<T = unknown> = { readonly error: unknown } | { readonly value: T };

/**
 * A shared allowance of retries, such as `RetryBudget`: asked before every
 * retry, told of every first attempt.
 */
export interface RetryBudgetLike {
  /** A first attempt started; it is never refused. */
  onFirstAttempt(): void;
  /** Asks to spend one retry; `false` refuses it. */
  tryRetry(): boolean;
}

/** Options of {@link retryWithBackoff}. */
export interface RetryOptions {
  /**
   * Retries after the first attempt, so at most `maxRetries + 1` calls of `fn`. `Infinity` is allowed.
   * @default 3
   */
  readonly maxRetries?: number | undefined;
  /**
   * Delay before the first retry, in ms, before jitter.
   * @default 100
   */
  readonly initialDelay?: number | undefined;
  /**
   * The delay before retry n is `initialDelay * multiplier^(n-1)`, capped at `maxDelay`.
   * @default 2
   */
  readonly multiplier?: number | undefined;
  /**
   * Cap on any single delay, in ms, jitter and `retryAfter` included.
   * @default 30_000
   */
  readonly maxDelay?: number | undefined;
  /**
   * `'none'`: the exact schedule; `'full'`: uniform in [0, d]; `'equal'`: uniform in [d/2, d];
   * `'decorrelated'`: uniform in [initialDelay, 3 × previous delay], capped.
   * @default 'full'
   */
  readonly jitter?: Jitter | undefined;
  /**
   * A custom schedule `(attempt, outcome) => ms` that replaces the exponential one;
   * `attempt` is the number of the attempt that just failed.
   * @default undefined
   */
  readonly delay?: ((attempt: number, outcome: Outcome) => number) | undefined;
  /**
   * Give up rather than schedule a retry that would start later than this many
   * ms after the first attempt started.
   * @default Infinity
   */
  readonly maxElapsedTime?: number | undefined;
  /**
   * A server's hint, in ms, that replaces the computed delay (still capped by `maxDelay`);
   * `undefined` means no hint.
   * @default reads a finite, non-negative numeric `retryAfter` field of the thrown error
   */
  readonly retryAfter?: ((outcome: Outcome) => number | undefined) | undefined;
  /**
   * Which thrown errors are retried. The caller's own abort is never retried.
   * @default every error except `BrokenCircuitError`, `BulkheadRejectedError` and `ThrottledError` (by `name`)
   */
  readonly handle?: ((error: unknown) => boolean) | undefined;
  /**
   * Which returned values are retried; when retries run out, the last such value is returned.
   * @default none
   */
  readonly handleResult?: ((value: unknown) => boolean) | undefined;
  /**
   * A shared `RetryBudget` that every retry must ask first.
   * @default undefined
   */
  readonly budget?: RetryBudgetLike | undefined;
  /**
   * Source of randomness for jitter, uniform in [0, 1). Seed it in tests.
   * @default Math.random
   */
  readonly random?: (() => number) | undefined;
}

/** Why a retry policy stopped retrying a failure. */
export type GiveUpReason = 'maxRetries' | 'maxElapsedTime' | 'budget';

/** Events of {@link RetryPolicy}. */
export interface RetryEvents {
  /** Attempt `attempt` failed; the next one starts after `delay` ms. */
  retry: { readonly attempt: number; readonly delay: number; readonly error?: unknown; readonly value?: unknown };
  /**
   * Retrying stopped on a failure after `attempts` attempts, `elapsed` ms after the first one
   * started (absent for a call that began before anyone listened to `success` or `giveUp`).
   */
  giveUp: { readonly attempts: number; readonly reason: GiveUpReason; readonly elapsed?: number; readonly error?: unknown; readonly value?: unknown };
  /**
   * Attempt number `attempts` succeeded, `elapsed` ms after the first one started: the call's
   * whole time in the retry, delays included (absent for a call that began before anyone listened
   * to `success` or `giveUp`).
   */
  success: { readonly attempts: number; readonly elapsed?: number };
}

// Retrying what a breaker, bulkhead or throttle shed would add the very load they shed.
// By name rather than instanceof, so errors from another copy of the package count too.
function retriable(error: unknown): boolean {
  // Not instanceof Error either: an error from another realm (an iframe, a vm) counts too.
  // `?.`: a thrown undefined or null has no name; a primitive's is undefined.
  const name = (error as { name?: unknown } | null | undefined)?.name;
  return name !== 'BrokenCircuitError' && name !== 'IsolatedCircuitError' && name !== 'BulkheadRejectedError' && name !== 'ThrottledError';
}

function retryAfterField(outcome: Outcome): number | undefined {
  // A value outcome has no `error`; a thrown primitive has no such field (`?.` covers null too).
  const hint = (outcome as { error?: { retryAfter?: unknown } | null }).error?.retryAfter;
  return Number.isFinite(hint) ? (hint as number) : undefined; // #delayAfter takes only one >= 0
}

const OWNER = 'retryWithBackoff';

/**
 * Retries a failing call with exponential backoff. Create it with {@link retryWithBackoff}.
 *
 * @example
 * ```ts
 * import { RetryPolicy } from 'breakwater';
 *
 * const retry = new RetryPolicy({ maxRetries: 5, jitter: 'equal' });
 * ```
 */
export class RetryPolicy extends PolicyBase<RetryEvents> {
  // #private state: minifiers shorten these names (ordinary property names they
  // cannot), and V8 reads them as fast as plain fields (bench/).
  readonly #maxRetries: number;
  readonly #maxElapsedTime: number;
  readonly #schedule: BackoffSchedule;
  readonly #customDelay: RetryOptions['delay'];
  readonly #hint: NonNullable<RetryOptions['retryAfter']>;
  readonly #handle: NonNullable<RetryOptions['handle']>;
  readonly #handleResult: RetryOptions['handleResult'];
  readonly #budget: RetryBudgetLike | undefined;

  constructor(options?: RetryOptions) {
    super('retry giveUp success', OWNER);
    const o = objectOptions<RetryOptions>(OWNER, options, 'maxRetries initialDelay multiplier maxDelay jitter delay maxElapsedTime retryAfter handle handleResult budget random');
    this.#maxRetries = readNumber(OWNER, 'maxRetries', o, 3, Flag.INTEGER | Flag.INFINITE);
    this.#maxElapsedTime = readNumber(OWNER, 'maxElapsedTime', o, Infinity, Flag.INFINITE);
    this.#schedule = {
      firstDelay: readNumber(OWNER, 'initialDelay', o, 100),
      growth: readNumber(OWNER, 'multiplier', o, 2, 0, 1),
      delayCap: readNumber(OWNER, 'maxDelay', o, 30_000, Flag.INFINITE),
      spread: readEnum(OWNER, 'jitter', o, ['none', 'full', 'equal', 'decorrelated'], 'full'),
      draw: readFunction(OWNER, 'random', o),
    };
    this.#customDelay = readFunction(OWNER, 'delay', o);
    this.#hint = readFunction(OWNER, 'retryAfter', o) ?? retryAfterField;
    this.#handle = readFunction(OWNER, 'handle', o) ?? retriable;
    this.#handleResult = readFunction(OWNER, 'handleResult', o);
    const budget = (this.#budget = o.budget);
    if (budget !== undefined && (typeof budget?.tryRetry !== 'function' || typeof budget.onFirstAttempt !== 'function')) {
      invalid(OWNER, 'budget', 'a RetryBudget', budget);
    }
  }

  /** @internal */
  run(ctx: Ctx, next: Next): Promise<unknown> {
    const l = this.listeners;
    // The clock is read only when something needs it: maxElapsedTime, or a listener whose event
    // carries `elapsed`. NaN otherwise: no deadline passes, and the events carry no `elapsed`.
    const started = l.success === undefined && l.giveUp === undefined && this.#maxElapsedTime === Infinity ? NaN : now();
    try {
      if (this.#budget !== undefined) countFirstAttempt(ctx, this.#budget);
    } catch (error) {
      return Promise.reject(error); // run never throws: execute always returns a promise
    }
    const first = runNext(next, ctx.withAttempt(1));
    // Reactions on the first attempt rather than an async function: most calls
    // succeed at once, and this costs one promise and ~100 ns less (bench/).
    return first.then(
      this.#handleResult === undefined && l.success === undefined ? this.#firstSucceeded : (value: unknown) => this.#firstValue(value, ctx, next, started),
      (error: unknown) => this.#firstError(error, ctx, next, started),
    );
  }

  // Bound once per policy: the happy path allocates no closure for it. Taken when no one listened
  // to `success` as the call began, so a listener that came since gets no `elapsed`.
  readonly #firstSucceeded = (value: unknown): unknown => this.#succeeded(value, 1, NaN);

  #succeeded(value: unknown, attempts: number, started: number): unknown {
    if (this.listeners.success !== undefined) this.emit('success', { attempts, ...elapsed(started) });
    return value;
  }

  #firstValue(value: unknown, ctx: Ctx, next: Next, started: number): unknown {
    let failed: boolean | undefined;
    try {
      failed = this.#handleResult?.(value); // none: taken only to time a success
    } catch (error) {
      return this.#firstError(error, ctx, next, started); // a throwing handleResult is a failure like a thrown one
    }
    return failed ? this.#afterFirst({ value }, ctx, next, started) : this.#succeeded(value, 1, started);
  }

  #firstError(error: unknown, ctx: Ctx, next: Next, started: number): unknown {
    // The caller's own abort (or an enclosing timeout's) is never retried.
    if (ctx.aborted || !this.#handle(error)) throw error;
    return this.#afterFirst({ error }, ctx, next, started);
  }

  #afterFirst(outcome: Outcome, ctx: Ctx, next: Next, started: number): unknown {
    let delay = this.#plan(ctx, 1, outcome, started, this.#schedule.firstDelay);
    if (delay < 0) return settle(outcome);
    // The retries, attempts 2, 3, …, each after its delay, as a thenable that the promise from
    // `run` adopts: it calls `then` (once) with its own resolve and reject, which the retries
    // settle the moment they end (they never reject). Adopting a promise instead would add a tick
    // between, say, an abort during a delay and the caller's rejection. An arrow, not a method of
    // its own: fewer bytes (bench/bundle.mjs).
    return {
      then: async (resolve: Settle, reject: Settle): Promise<void> => {
        try {
          for (let attempt = 2; ; attempt++) {
            await sleep(delay, ctx);
            // An abort may land between the delay's end and this line: no attempt starts after it.
            if (ctx.aborted) return reject(ctx.reason);
            let outcome: Outcome;
            try {
              const value = await next(ctx.withAttempt(attempt));
              if (!this.#handleResult?.(value)) return resolve(this.#succeeded(value, attempt, started));
              outcome = { value };
            } catch (error) {
              if (ctx.aborted || !this.#handle(error)) return reject(error);
              outcome = { error };
            }
            delay = this.#plan(ctx, attempt, outcome, started, delay);
            if (delay < 0) return resolve(settle(outcome)); // settle throws an error: rejected below
          }
        } catch (error) {
          reject(error); // the last error, an abort during a delay, or a throwing option function
        }
      },
    };
  }

  /**
   * After failed attempt `attempt`: emits `retry` and returns the delay before
   * the next attempt, or emits `giveUp` and returns -1. Returns -1 with no
   * event when the call cannot send again (internal/final.ts): its failure is
   * final, as an error that `handle` passes through is.
   */
  #plan(ctx: Ctx, attempt: number, outcome: Outcome, started: number, previousDelay: number): number {
    // Aborted while the attempt ended (a handled result that came in late, a `handle` that aborted
    // the caller): the caller's reason ends the call, with no event and no budget spent.
    if (ctx.aborted) throw ctx.reason;
    if (finals.has(ctx.fn)) return -1;
    let reason: GiveUpReason | undefined;
    let delay = 0;
    if (attempt > this.#maxRetries) reason = 'maxRetries';
    else {
      const s = this.#schedule;
      const hinted = this.#hint(outcome);
      delay =
        typeof hinted === 'number' && hinted >= 0
          ? hinted
          : this.#customDelay !== undefined
            ? this.#customDelay(attempt, outcome)
            : backoffDelay(s, attempt, previousDelay);
      delay = delay >= 0 ? Math.min(delay, s.delayCap) : 0; // 0 for NaN or negative from a custom schedule
      if (now() + delay - started > this.#maxElapsedTime) reason = 'maxElapsedTime'; // never above Infinity
      else if (this.#budget !== undefined && !this.#budget.tryRetry()) reason = 'budget';
    }
    if (reason !== undefined) {
      this.emit('giveUp', { attempts: attempt, reason, ...outcome, ...elapsed(started) });
      return -1;
    }
    this.emit('retry', { attempt, delay, ...outcome }); // a failure path: a payload nobody reads costs less than its guard's bytes
    return delay;
  }
}

/** `{ elapsed }`, the ms since `started`, to spread into a payload; nothing for a call nobody timed (`started` NaN). */
function elapsed(started: number): { elapsed?: number } | false {
  return started === started && { elapsed: now() - started };
}

/** The last outcome as the call's answer: a thrown error is rethrown, a handled value returned. */
function settle(outcome: Outcome): unknown {
  if ('error' in outcome) throw outcome.error;
  return outcome.value;
}

type Settle = (result: unknown) => void;

/**
 * Creates a policy that retries failures with exponential backoff and jitter.
 *
 * @example
 * ```ts
 * import { retryWithBackoff } from 'breakwater';
 *
 * const retry = retryWithBackoff({ maxRetries: 5, initialDelay: 200, handle: (error) => error instanceof TypeError });
 * retry.on('retry', ({ attempt, delay }) => console.log(`attempt ${attempt} failed; retrying in ${delay} ms`));
 * const data = await retry.execute(({ signal }) => fetch('https://api.example.com', { signal }));
 * ```
 */
/* @__NO_SIDE_EFFECTS__ */
export function retryWithBackoff(options?: RetryOptions): RetryPolicy {
  return new RetryPolicy(options);
}
