import { now } from './timers.js';

// Ten buckets: the window slides in tenths, and expiring a bucket is a
// constant amount of work however busy or idle the counts have been.
const BUCKETS = 10;

/**
 * A few counters over a sliding time window, in ten buckets: every operation
 * is O(1) and allocates nothing. Counts older than the window drop out a
 * tenth of the window at a time.
 */
export class SlidingCounts {
  /** Each counter's total over the window, as of the last {@link advance}. */
  readonly totals: Float64Array;
  // Counter c's count in bucket slot s is at c * BUCKETS + s.
  readonly #counts: Float64Array;
  readonly #width: number;
  /** The absolute bucket number (time / width) last advanced to. */
  #index = -Infinity;

  constructor(window: number, counters: number) {
    this.totals = new Float64Array(counters);
    this.#counts = new Float64Array(counters * BUCKETS);
    this.#width = window / BUCKETS;
  }

  /** Expires the buckets that slid out of the window since the last call; returns the current slot. */
  advance(): number {
    const index = Math.floor(now() / this.#width);
    if (index !== this.#index) {
      // Clear the slots of the buckets skipped since the last call, counting back
      // from the current one: at most BUCKETS, however long the counts sat idle
      // (a clock that went back, e.g. a test switching timers, clears them all).
      const gap = index - this.#index;
      const stale = gap > 0 && gap < BUCKETS ? gap : BUCKETS;
      const counts = this.#counts;
      for (let i = 0; i < stale; i++) {
        const slot = (((index - i) % BUCKETS) + BUCKETS) % BUCKETS;
        for (let c = 0; c < this.totals.length; c++) {
          this.totals[c]! -= counts[c * BUCKETS + slot]!;
          counts[c * BUCKETS + slot] = 0;
        }
      }
      this.#index = index;
    }
    return ((index % BUCKETS) + BUCKETS) % BUCKETS;
  }

  /** Counts one for `counter` in bucket `slot` (from {@link advance}). */
  add(slot: number, counter: number): void {
    this.#counts[counter * BUCKETS + slot]! += 1;
    this.totals[counter]! += 1;
  }
}
