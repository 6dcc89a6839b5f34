import { LimitAlgorithm } from './algorithm.js';
import { RttWindow } from './window.js';

/** Grow while the estimated queue is below ALPHA × log10(limit) calls, shrink above BETA × log10(limit). */
const ALPHA = 3;
const BETA = 6;

/**
 * Vegas (after TCP Vegas and Netflix's VegasLimit): from the lowest latency
 * seen (`minRtt`, the downstream's unloaded latency) and the latest window's
 * median (`rtt`), the calls queued downstream are estimated as
 * `limit × (1 − minRtt / rtt)`. Below α the limit grows (while it is in
 * use), above β it shrinks, in between it holds; both thresholds scale with
 * log10(limit), and so does each step.
 *
 * `minRtt` is a minimum over window medians, not single calls, so one lucky
 * fast call does not skew it; it follows a slower downstream only when that
 * slowness cannot be this limiter's doing: when less than half the limit was
 * in flight, or at `minLimit`.
 */
export class Vegas extends LimitAlgorithm {
  readonly #window = new RttWindow(); // #private: minified names
  #minRtt = Infinity;

  sample(rtt: number, inflight: number): number {
    const median = this.#window.add(rtt, inflight);
    if (median !== median) return this.limit; // the window is not full yet
    const used = this.inUse(this.#window.takePeak());
    if (median < this.#minRtt) this.#minRtt = median;
    else if (!used || this.atMin) this.#minRtt = Math.min(median, this.#minRtt * 1.1);
    const queue = this.limit * (1 - this.#minRtt / median);
    const step = Math.max(1, Math.log10(this.limit));
    if (queue > BETA * step) return this.set(this.limit - step);
    if (queue < ALPHA * step && used) return this.set(this.limit + step);
    return this.limit;
  }
}
