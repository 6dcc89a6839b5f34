import { backoffDelay, type BackoffSchedule, type Jitter } from './backoff.js';
import { type Ctx, type Next, sleep } from './internal/context.js';
import { now } from './internal/timers.js';
import { enumOption, functionOption, numberOption, objectOptions } from './internal/validate.js';
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
  readonly maxRetries?: number;
  /**
   * Delay before the first retry, in ms, before jitter.
   * @default 100
   */
  readonly initialDelay?: number;
  /**
   * The delay before retry n is `initialDelay * multiplier^(n-1)`, capped at `maxDelay`.
   * @default 2
   */
  readonly multiplier?: number;
  /**
   * Cap on any single delay, in ms, jitter and `retryAfter` included.
   * @default 30_000
   */
  readonly maxDelay?: number;
  /**
   * `'none'`: the exact schedule; `'full'`: uniform in [0, d]; `'equal'`: uniform in [d/2, d];
   * `'decorrelated'`: uniform in [initialDelay, 3 × previous delay], capped.
   * @default 'full'
   */
  readonly jitter?: Jitter;
  /**
   * A custom schedule `(attempt, outcome) => ms` that replaces the exponential one;
   * `attempt` is the number of the attempt that just failed.
   * @default undefined
   */
  readonly delay?: (attempt: number, outcome: Outcome) => number;
  /**
   * Give up rather than schedule a retry that would start later than this many
   * ms after the first attempt started.
   * @default Infinity
   */
  readonly maxElapsedTime?: number;
  /**
   * A server's hint, in ms, that replaces the computed delay (still capped by `maxDelay`);
   * `undefined` means no hint.
   * @default reads a finite, non-negative numeric `retryAfter` field of the thrown error
   */
  readonly retryAfter?: (outcome: Outcome) => number | undefined;
  /**
   * Which thrown errors are retried. The caller's own abort is never retried.
   * @default every error except `BrokenCircuitError` and `BulkheadRejectedError` (by `name`)
   */
  readonly handle?: (error: unknown) => boolean;
  /**
   * Which returned values are retried; when retries run out, the last such value is returned.
   * @default none
   */
  readonly handleResult?: (value: unknown) => boolean;
  /**
   * A shared `RetryBudget` that every retry must ask first.
   * @default undefined
   */
  readonly budget?: RetryBudgetLike;
  /**
   * Source of randomness for jitter, uniform in [0, 1). Seed it in tests.
   * @default Math.random
   */
  readonly random?: () => number;
}

/** Why a retry policy stopped retrying a failure. */
export type GiveUpReason = 'maxRetries' | 'maxElapsedTime' | 'budget';

/** Events of {@link RetryPolicy}. */
export interface RetryEvents {
  /** Attempt `attempt` failed; the next one starts after `delay` ms. */
  retry: { readonly attempt: number; readonly delay: number; readonly error?: unknown; readonly value?: unknown };
  /** Retrying stopped on a failure after `attempts` attempts. */
  giveUp: { readonly attempts: number; readonly reason: GiveUpReason; readonly error?: unknown; readonly value?: unknown };
  /** Attempt number `attempts` succeeded. */
  success: { readonly attempts: number };
}

// Retrying what a breaker or bulkhead shed would add the very load they shed.
// By name rather than instanceof, so errors from another copy of the package count too.
function retriable(error: unknown): boolean {
  if (!(error instanceof Error)) return true;
  const name = error.name;
  return name !== 'BrokenCircuitError' && name !== 'IsolatedCircuitError' && name !== 'BulkheadRejectedError';
}

function retryAfterField(outcome: Outcome): number | undefined {
  if (!('error' in outcome)) return undefined;
  const error = outcome.error as { retryAfter?: unknown } | null | undefined;
  const hint = error != null && typeof error === 'object' ? error.retryAfter : undefined;
  return typeof hint === 'number' && hint >= 0 && Number.isFinite(hint) ? hint : undefined;
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
  private readonly maxRetries: number;
  private readonly maxElapsedTime: number;
  private readonly schedule: BackoffSchedule;
  private readonly customDelay: RetryOptions['delay'];
  private readonly hint: NonNullable<RetryOptions['retryAfter']>;
  private readonly handle: NonNullable<RetryOptions['handle']>;
  private readonly handleResult: RetryOptions['handleResult'];
  private readonly budget: RetryBudgetLike | undefined;

  constructor(options?: RetryOptions) {
    super();
    const o = objectOptions<RetryOptions>(OWNER, options);
    this.maxRetries = numberOption(OWNER, 'maxRetries', o.maxRetries, 3, { integer: true, infinite: true });
    this.maxElapsedTime = numberOption(OWNER, 'maxElapsedTime', o.maxElapsedTime, Infinity, { infinite: true });
    this.schedule = {
      initialDelay: numberOption(OWNER, 'initialDelay', o.initialDelay, 100),
      multiplier: numberOption(OWNER, 'multiplier', o.multiplier, 2, { min: 1 }),
      maxDelay: numberOption(OWNER, 'maxDelay', o.maxDelay, 30_000, { infinite: true }),
      jitter: enumOption(OWNER, 'jitter', o.jitter, ['none', 'full', 'equal', 'decorrelated'], 'full'),
      random: functionOption<() => number>(OWNER, 'random', o.random) ?? Math.random,
    };
    this.customDelay = functionOption(OWNER, 'delay', o.delay);
    this.hint = functionOption(OWNER, 'retryAfter', o.retryAfter) ?? retryAfterField;
    this.handle = functionOption(OWNER, 'handle', o.handle) ?? retriable;
    this.handleResult = functionOption(OWNER, 'handleResult', o.handleResult);
    if (o.budget !== undefined && (typeof o.budget?.tryRetry !== 'function' || typeof o.budget.onFirstAttempt !== 'function')) {
      throw new TypeError(`${OWNER}: option "budget" must be a RetryBudget`);
    }
    this.budget = o.budget;
  }

  /** @internal */
  async run(ctx: Ctx, next: Next): Promise<unknown> {
    const started = this.maxElapsedTime === Infinity ? 0 : now();
    this.budget?.onFirstAttempt();
    let previousDelay = this.schedule.initialDelay;
    for (let attempt = 1; ; attempt++) {
      let outcome: Outcome;
      try {
        const value = await next(ctx.withAttempt(attempt));
        if (this.handleResult === undefined || !this.handleResult(value)) {
          if (this.listeners.success !== undefined) this.emit('success', { attempts: attempt });
          return value;
        }
        outcome = { value };
      } catch (error) {
        // The caller's own abort (or an enclosing timeout's) is never retried.
        if (ctx.aborted || !this.handle(error)) throw error;
        outcome = { error };
      }

      let reason: GiveUpReason | undefined;
      let delay = 0;
      if (attempt > this.maxRetries) reason = 'maxRetries';
      else {
        delay = this.delayAfter(attempt, outcome, previousDelay);
        if (this.maxElapsedTime !== Infinity && now() + delay - started > this.maxElapsedTime) reason = 'maxElapsedTime';
        else if (this.budget !== undefined && !this.budget.tryRetry()) reason = 'budget';
      }
      if (reason !== undefined) {
        if (this.listeners.giveUp !== undefined) this.emit('giveUp', { attempts: attempt, reason, ...outcome });
        if ('error' in outcome) throw outcome.error;
        return outcome.value;
      }
      if (this.listeners.retry !== undefined) this.emit('retry', { attempt, delay, ...outcome });
      previousDelay = delay;
      await sleep(delay, ctx);
    }
  }

  private delayAfter(attempt: number, outcome: Outcome, previous: number): number {
    const s = this.schedule;
    const hinted = this.hint(outcome);
    let delay =
      typeof hinted === 'number' && hinted >= 0
        ? hinted
        : this.customDelay !== undefined
          ? this.customDelay(attempt, outcome)
          : backoffDelay(s, attempt, previous);
    if (!(delay >= 0)) delay = 0; // NaN or negative from a custom schedule
    return Math.min(delay, s.maxDelay);
  }
}

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
