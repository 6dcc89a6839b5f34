import { now } from './timers.js';

/** Ten buckets: a window slides in tenths, and expiring a bucket is a constant amount of work. */
export const BUCKETS = 10;

/**
 * The clock side of a sliding window counted in ten buckets, shared by
 * `RetryBudget` and `AdaptiveThrottle`: which bucket is current, and which
 * slid out since the last look. The owner keeps the counts; `clear(slot)` is
 * called once for each stale slot, so the per-call cost stays one clock read
 * and a compare while calls flow.
 */
export class BucketRing {
  // #private: minifiers shorten these names, plain properties they cannot (bench/bundle.mjs).
  readonly #width: number;
  readonly #clear: (slot: number) => void;
  /** The absolute bucket number (time / width) last advanced to, and its slot. */
  #index = -Infinity;
  #slot = 0;

  constructor(window: number, clear: (slot: number) => void) {
    this.#width = window / BUCKETS;
    this.#clear = clear;
  }

  /** Clears the buckets that slid out of the window since the last call; returns the current slot. */
  advance(): number {
    const index = Math.floor(now() / this.#width);
    if (index === this.#index) return this.#slot;
    // Clear the slots of the buckets skipped since the last call, counting back
    // from the current one: at most BUCKETS, however long the window sat idle
    // (a clock that went back, e.g. a test switching timers, clears them all).
    const gap = index - this.#index;
    const stale = gap > 0 && gap < BUCKETS ? gap : BUCKETS;
    for (let i = 0; i < stale; i++) this.#clear((((index - i) % BUCKETS) + BUCKETS) % BUCKETS);
    this.#index = index;
    return (this.#slot = ((index % BUCKETS) + BUCKETS) % BUCKETS);
  }
}
