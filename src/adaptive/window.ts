/** Samples per window: enough for a median that one slow call cannot move. */
export const WINDOW = 10;

/**
 * Latency samples gathered into windows of {@link WINDOW}. A window's latency
 * is its median, so a single slow (or fast) call among them moves nothing; it
 * also remembers the most calls in flight it saw, to tell whether the limit
 * was in use during the window.
 */
export class RttWindow {
  readonly #samples = new Float64Array(WINDOW); // #private: minified names
  #count = 0;
  #peak = 0;

  /**
   * Adds a sample; returns the window's median when this sample completes a
   * window (and starts the next), else `NaN`.
   */
  add(rtt: number, inflight: number): number {
    this.#samples[this.#count++] = rtt;
    if (inflight > this.#peak) this.#peak = inflight;
    if (this.#count < WINDOW) return NaN;
    this.#count = 0;
    // Sorted in place: the window is refilled from the start anyway.
    const sorted = this.#samples.sort();
    return (sorted[(WINDOW - 1) >> 1]! + sorted[WINDOW >> 1]!) / 2;
  }

  /** The most calls in flight during the window that just closed; resets it. */
  takePeak(): number {
    const peak = this.#peak;
    this.#peak = 0;
    return peak;
  }
}
