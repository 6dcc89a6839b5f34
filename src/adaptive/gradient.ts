import { LimitAlgorithm } from './algorithm.js';
import { RttWindow } from './window.js';

/** How much slower than the long-term latency the short-term one may be before the limit shrinks. */
const TOLERANCE = 1.5;
/** Each window moves the limit this share of the way to where the gradient points. */
const SMOOTHING = 0.2;
/** The long-term latency follows a faster short-term one at this weight per window... */
const FALL = 0.5;
/** ...and a slower one at this weight, only while the latency is the downstream's own. */
const RISE = 0.1;

/**
 * Gradient (after Netflix's Gradient2): compares a long-term latency (a
 * slow average of window medians, the downstream's unloaded latency) with the
 * short-term one (the latest window's median). While the short-term latency
 * stays within `TOLERANCE` of the long-term one and the limit is in use, the
 * limit grows by its square root (a queue allowance); above it, the limit is
 * multiplied by the gradient `TOLERANCE × long / short` (at least 0.5).
 * Either move is smoothed.
 *
 * The long-term latency drifts toward a faster short-term one quickly, but
 * toward a slower one only when that slowness cannot be this limiter's doing:
 * when less than half the limit was in flight, or at `minLimit`. Otherwise a
 * sustained overload would teach it that queueing is normal, and latency would
 * creep up without bound.
 */
export class Gradient extends LimitAlgorithm {
  readonly #window = new RttWindow(); // #private: minified names
  #long = NaN;

  sample(rtt: number, inflight: number): number {
    const short = this.#window.add(rtt, inflight);
    if (short !== short) return this.limit; // the window is not full yet
    const used = this.inUse(this.#window.takePeak());
    const long = this.#long;
    if (long !== long) this.#long = short;
    else if (short < long) this.#long += (short - long) * FALL;
    else if (!used || this.atMin) this.#long += (short - long) * RISE;
    const gradient = Math.max(0.5, Math.min(1, (TOLERANCE * this.#long) / short));
    if (gradient === 1 && !used) return this.limit;
    const target = gradient === 1 ? this.limit + Math.sqrt(this.limit) : this.limit * gradient;
    return this.set(this.limit + (target - this.limit) * SMOOTHING);
  }
}
