import { BUCKETS, BucketRing } from './internal/bucket-ring.js';
import { ABOVE, numberOption, objectOptions } from './internal/validate.js';
import type { RetryBudgetLike } from './retry.js';

/** Options of {@link RetryBudget}. */
export interface RetryBudgetOptions {
  /**
   * Retries allowed per first attempt in the window: 0.2 lets retries add at most
   * 20% to the load a healthy fleet sends.
   * @default 0.2
   */
  readonly ratio?: number | undefined;
  /**
   * A floor of retries per second allowed whatever the ratio says, so a quiet
   * client can still retry at all. The window holds `minRetriesPerSecond × window / 1000` of them.
   * @default 10
   */
  readonly minRetriesPerSecond?: number | undefined;
  /**
   * The sliding window, in ms, over which first attempts and retries are counted.
   * @default 10_000
   */
  readonly window?: number | undefined;
}

/** What a {@link RetryBudget} holds now, over its window. */
export interface RetryBudgetStats {
  /** First attempts counted in the window. */
  readonly firstAttempts: number;
  /** Retries (and hedges) allowed in the window. */
  readonly retries: number;
  /** Retries refused in the window. */
  readonly refused: number;
  /** Retries that would be allowed now: `ratio × firstAttempts + floor − retries`, at least 0. */
  readonly available: number;
}

const OWNER = 'RetryBudget';

/**
 * A retry allowance shared by any number of `retryWithBackoff` and `hedge`
 * policies (Finagle's and Linkerd's rule): a retry is allowed only while the
 * retries in the sliding window stay under `ratio × first attempts + minRetriesPerSecond × window seconds`.
 * First attempts are never refused; when a service fails, a fleet sends at most
 * about `1 + ratio` times its normal load instead of `maxRetries + 1` times.
 * Every call is O(1).
 *
 * @example
 * ```ts
 * import { RetryBudget, retryWithBackoff, hedge } from 'breakwater';
 *
 * const budget = new RetryBudget({ ratio: 0.1 });
 * const users = retryWithBackoff({ maxRetries: 3, budget });
 * const search = hedge({ delay: 200, budget });
 * users.on('giveUp', ({ reason }) => { if (reason === 'budget') console.warn('retry budget exhausted'); });
 * ```
 */
export class RetryBudget implements RetryBudgetLike {
  /** Retries allowed per first attempt. */
  readonly ratio: number;
  /** Retries per second allowed whatever the ratio. */
  readonly minRetriesPerSecond: number;
  /** The window in ms. */
  readonly window: number;
  // #private: minifiers shorten these names, plain properties they cannot (bench/bundle.mjs).
  readonly #floor: number;
  // Per-bucket counts; the ring says which bucket is current and clears those that slid out.
  readonly #ring: BucketRing;
  readonly #firsts = new Float64Array(BUCKETS);
  readonly #spent = new Float64Array(BUCKETS);
  readonly #denied = new Float64Array(BUCKETS);
  #firstTotal = 0;
  #spentTotal = 0;
  #deniedTotal = 0;

  constructor(options?: RetryBudgetOptions) {
    const o = objectOptions<RetryBudgetOptions>(OWNER, options, 'ratio minRetriesPerSecond window');
    this.ratio = numberOption(OWNER, 'ratio', o.ratio, 0.2);
    this.minRetriesPerSecond = numberOption(OWNER, 'minRetriesPerSecond', o.minRetriesPerSecond, 10);
    this.window = numberOption(OWNER, 'window', o.window, 10_000, ABOVE);
    this.#floor = (this.minRetriesPerSecond * this.window) / 1000;
    this.#ring = new BucketRing(this.window, (slot) => {
      this.#firstTotal -= this.#firsts[slot]!;
      this.#spentTotal -= this.#spent[slot]!;
      this.#deniedTotal -= this.#denied[slot]!;
      this.#firsts[slot] = 0;
      this.#spent[slot] = 0;
      this.#denied[slot] = 0;
    });
  }

  /** Counts a first attempt. Never refused. */
  onFirstAttempt(): void {
    const at = this.#ring.advance();
    this.#firsts[at]! += 1;
    this.#firstTotal += 1;
  }

  /** Spends one retry if the budget allows it; `false` means do not retry. */
  tryRetry(): boolean {
    const at = this.#ring.advance();
    if (this.#spentTotal < this.ratio * this.#firstTotal + this.#floor) {
      this.#spent[at]! += 1;
      this.#spentTotal += 1;
      return true;
    }
    this.#denied[at]! += 1;
    this.#deniedTotal += 1;
    return false;
  }

  /** The counts over the current window, e.g. for a metrics gauge. */
  stats(): RetryBudgetStats {
    this.#ring.advance();
    return {
      firstAttempts: this.#firstTotal,
      retries: this.#spentTotal,
      refused: this.#deniedTotal,
      available: Math.max(0, Math.ceil(this.ratio * this.#firstTotal + this.#floor - this.#spentTotal)),
    };
  }
}
