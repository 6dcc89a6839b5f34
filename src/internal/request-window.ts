import { now } from './timers.js';

// Ten buckets: the window slides in tenths, and expiring a bucket is a
// constant amount of work however busy or idle the window has been.
const BUCKETS = 10;

/**
 * Requests and accepts over a sliding time window, in ten buckets (as
 * `RetryBudget` counts): every operation is O(1) and allocates nothing.
 * Counts older than the window drop out a tenth of the window at a time.
 * Two named counters, not an array of them: this sits on a policy's hot path.
 */
export class RequestWindow {
  /** Requests in the window, as of the last {@link advance}. */
  requests = 0;
  /** Accepts in the window, as of the last {@link advance}. */
  accepts = 0;
  // #private: minifiers shorten these names, plain properties they cannot (bench/bundle.mjs).
  readonly #requests = new Float64Array(BUCKETS);
  readonly #accepts = new Float64Array(BUCKETS);
  readonly #width: number;
  /** The absolute bucket number (time / width) last advanced to, and its slot. */
  #index = -Infinity;
  #slot = 0;

  constructor(window: number) {
    this.#width = window / BUCKETS;
  }

  /** Expires the buckets that slid out of the window since the last call. */
  advance(): void {
    const index = Math.floor(now() / this.#width);
    if (index === this.#index) return;
    // Clear the slots of the buckets skipped since the last call, counting back
    // from the current one: at most BUCKETS, however long the window sat idle
    // (a clock that went back, e.g. a test switching timers, clears them all).
    const gap = index - this.#index;
    const stale = gap > 0 && gap < BUCKETS ? gap : BUCKETS;
    for (let i = 0; i < stale; i++) {
      const slot = (((index - i) % BUCKETS) + BUCKETS) % BUCKETS;
      this.requests -= this.#requests[slot]!;
      this.accepts -= this.#accepts[slot]!;
      this.#requests[slot] = 0;
      this.#accepts[slot] = 0;
    }
    this.#index = index;
    this.#slot = ((index % BUCKETS) + BUCKETS) % BUCKETS;
  }

  // Both count in the bucket of the last advance(), without reading the clock
  // (a read costs ~30 ns, as much as the rest of a throttled call): while calls
  // flow, that bucket is the current one or close to it.

  /** Counts a request. */
  request(): void {
    this.#requests[this.#slot]! += 1;
    this.requests++;
  }

  /** Counts an accept. */
  accept(): void {
    this.#accepts[this.#slot]! += 1;
    this.accepts++;
  }
}
