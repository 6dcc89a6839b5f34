import type { Listener, Unsubscribe } from './events.js';
import { BUCKETS, BucketRing } from './internal/bucket-ring.js';
import { ABOVE, invalid, known, mustBe, numberOption, objectOptions } from './internal/validate.js';
import type { RetryBudgetLike } from './retry.js';
import type { FleetBudget } from './store/fleet-budget.js';
import type { Store } from './store/types.js';

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
  /**
   * Shares the budget with every `RetryBudget` of the same store and `key`, in
   * any number of processes: `ratio` and `minRetriesPerSecond` then hold for the
   * fleet's calls together (one floor for the fleet). `tryRetry()` stays
   * synchronous: each instance spends an allowance the store grants it, and
   * sends its counts once every `window / 10` ms while it is used. Until the
   * store's first answer (when new, back from idle or from an outage) it may
   * spend one retry (the floor if smaller) plus `ratio` × its own first
   * attempts, not a floor of its own. When the store fails, the budget decides
   * on its own counts until it answers again.
   * @default undefined (a budget of this process's own)
   */
  readonly store?: Store | undefined;
  /**
   * The fleet budget's name in the store: a non-empty string, required with `store`.
   * @default undefined
   */
  readonly key?: string | undefined;
}

/** Events of a {@link RetryBudget} with a store. */
export interface RetryBudgetEvents {
  /** The store failed: the budget decides on its own counts. Once per outage. */
  storeError: { readonly error: unknown };
  /** The store answers again after `downtime` ms; the budget is the fleet's again from its next sync. */
  storeRecovered: { readonly downtime: number };
}

/** What a {@link RetryBudget} holds now, over its window. */
export interface RetryBudgetStats {
  /** First attempts counted in the window. */
  readonly firstAttempts: number;
  /** Retries (and hedges) allowed in the window. */
  readonly retries: number;
  /** Retries refused in the window. */
  readonly refused: number;
  /**
   * Retries that would be allowed now: `ratio × firstAttempts + floor − retries`,
   * at least 0. With a store, unless it is down: the retries this instance may
   * still spend until the store's next answer.
   */
  readonly available: number;
  /** With a store, the fleet's counts in the window at the last sync (absent while the store is down). */
  readonly fleet?: RetryBudgetFleetStats;
}

/** The fleet's side of {@link RetryBudgetStats}: every instance sharing the store and key. */
export interface RetryBudgetFleetStats {
  /** The fleet's first attempts in the window. */
  readonly firstAttempts: number;
  /** The fleet's retries in the window. */
  readonly retries: number;
  /** Instances that synced recently, this one included. */
  readonly instances: number;
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
 * With `store` and `key`, every budget of that store and key, in any number of
 * processes, shares one allowance: the ratio and the floor hold for the fleet's
 * calls together. `tryRetry()` stays synchronous and makes no round trip: each
 * instance spends an allowance the store grants it at each sync (every
 * `window / 10` ms while it is used, one command), so the fleet's view is at
 * most one sync interval old. Before its first answer an instance spends only
 * one retry plus `ratio` × its own first attempts (a hundred instances starting
 * together do not each spend a floor). While the store is down the budget
 * decides on its own counts, as a budget without a store does, and says so
 * with `storeError`.
 *
 * @example
 * ```ts
 * import { createMemoryStore, RetryBudget, retryWithBackoff, hedge } from 'breakwater';
 *
 * const budget = new RetryBudget({ ratio: 0.1 });
 * const users = retryWithBackoff({ maxRetries: 3, budget });
 * const search = hedge({ delay: 200, budget });
 * users.on('giveUp', ({ reason }) => { if (reason === 'budget') console.warn('retry budget exhausted'); });
 *
 * // One budget for every instance of the service (in production: createRedisStore):
 * const fleet = new RetryBudget({ ratio: 0.1, store: createMemoryStore(), key: 'users' });
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
  // The fleet side, only with a store: undefined costs the local hot path one compare.
  readonly #fleet: FleetBudget | undefined;

  constructor(options?: RetryBudgetOptions) {
    const o = objectOptions<RetryBudgetOptions>(OWNER, options, 'ratio minRetriesPerSecond window store key');
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
    const { store, key } = o;
    if (store !== undefined && typeof store?.fleet?.budget !== 'function') invalid(OWNER, 'store', 'a store', store);
    // `key` is checked with or without a store (as RateLimiter's): a bad one must not wait for the store to be refused.
    if ((store !== undefined || key !== undefined) && (typeof key !== 'string' || key === '')) invalid(OWNER, 'key', 'a non-empty string', key);
    if (store !== undefined) this.#fleet = store.fleet.budget(store.link, key!, this.ratio, this.#floor, this.window);
  }

  /** Counts a first attempt. Never refused. */
  onFirstAttempt(): void {
    const at = this.#ring.advance();
    this.#firsts[at]! += 1;
    this.#firstTotal += 1;
    this.#fleet?.first();
  }

  /** Spends one retry if the budget allows it; `false` means do not retry. */
  tryRetry(): boolean {
    const at = this.#ring.advance();
    const local = this.#spentTotal < this.ratio * this.#firstTotal + this.#floor;
    if (this.#fleet === undefined ? local : this.#fleet.take(local)) {
      this.#spent[at]! += 1;
      this.#spentTotal += 1;
      return true;
    }
    this.#denied[at]! += 1;
    this.#deniedTotal += 1;
    return false;
  }

  /**
   * The counts over the current window, e.g. for a metrics gauge. With a
   * store, `firstAttempts`, `retries` and `refused` are this instance's own;
   * `fleet` holds the fleet's.
   */
  stats(): RetryBudgetStats {
    this.#ring.advance();
    return {
      firstAttempts: this.#firstTotal,
      retries: this.#spentTotal,
      refused: this.#deniedTotal,
      available: Math.max(0, Math.ceil(this.ratio * this.#firstTotal + this.#floor - this.#spentTotal)),
      // With a current view of the fleet: its `available` and `fleet`.
      ...this.#fleet?.stats(),
    };
  }

  /**
   * Calls `listener` on every `event` of the budget's store: `storeError` once
   * when an outage begins, `storeRecovered` once when the store answers again.
   * A budget without a store emits neither.
   * @returns a function that removes the listener.
   * @throws TypeError when `event` is none of these, or `listener` is not a function.
   */
  on<K extends keyof RetryBudgetEvents>(event: K, listener: Listener<RetryBudgetEvents[K]>): Unsubscribe {
    if (this.#fleet) return this.#fleet.on(event, listener);
    known('on', 'event', event, 'storeError storeRecovered');
    if (typeof listener !== 'function') throw mustBe('on: listener', 'a function', listener);
    return () => {};
  }
}
