import { BACKOFF, LimitAlgorithm } from './algorithm.js';

/**
 * AIMD (additive increase, multiplicative decrease, after TCP Reno): while
 * the limit is in use, each call that ends well adds 1 / limit, so the limit
 * grows by 1 for every round of `limit` calls; a handled failure multiplies
 * it by 0.9, once per round: the failures of calls already in flight when it
 * shrank are the same overload, not a new one (cutting for each would take
 * the limit to `minLimit` after every burst of timeouts). It does not read
 * latency: pair it with a timeout inside the limiter, so a downstream that
 * queues shows up as failures.
 */
export class Aimd extends LimitAlgorithm {
  /** Calls ended since the last decrease. */
  #round = Infinity; // #private: a minified name

  sample(_rtt: number, inflight: number): number {
    this.#round++;
    return this.inUse(inflight) ? this.set(this.limit + 1 / this.limit) : this.limit;
  }

  override drop(): number {
    if (++this.#round < this.limit) return this.limit;
    this.#round = 0;
    return this.set(this.limit * BACKOFF);
  }
}
