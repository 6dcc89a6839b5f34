import { LimitAlgorithm } from './algorithm.js';

/**
 * AIMD (additive increase, multiplicative decrease, after TCP Reno and
 * Netflix's AIMDLimit): +1 for every call that ends well while the limit is
 * in use, × 0.9 for every handled failure. It does not read latency: pair it
 * with a timeout inside the limiter, so a downstream that queues shows up as
 * failures.
 */
export class Aimd extends LimitAlgorithm {
  sample(_rtt: number, inflight: number): number {
    return this.inUse(inflight) ? this.set(this.limit + 1) : this.limit;
  }
}
