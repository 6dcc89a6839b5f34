import { BUCKETS, BucketRing } from './bucket-ring.js';

/**
 * Requests and accepts over a sliding time window, in ten buckets (as
 * `RetryBudget` counts, through the same {@link BucketRing}): every operation
 * is O(1) and allocates nothing. Counts older than the window drop out a tenth
 * of the window at a time. Two named counters, not an array of them: this sits
 * on a policy's hot path.
 */
export class RequestWindow {
  /** Requests in the window, as of the last {@link advance}. */
  requests = 0;
  /** Accepts in the window, as of the last {@link advance}. */
  accepts = 0;
  // #private: minifiers shorten these names, plain properties they cannot (bench/bundle.mjs).
  readonly #requests = new Float64Array(BUCKETS);
  readonly #accepts = new Float64Array(BUCKETS);
  readonly #ring: BucketRing;
  #slot = 0; // the current bucket's, as of the last advance()

  constructor(window: number) {
    this.#ring = new BucketRing(window, (slot) => {
      this.requests -= this.#requests[slot]!;
      this.accepts -= this.#accepts[slot]!;
      this.#requests[slot] = 0;
      this.#accepts[slot] = 0;
    });
  }

  /** Expires the buckets that slid out of the window since the last call. */
  advance(): void {
    this.#slot = this.#ring.advance();
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
