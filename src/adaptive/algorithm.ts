/**
 * What an AdaptiveLimiter's algorithm is told, and what it answers: the
 * limit as a real number in [min, max] (the limiter rounds it down). The
 * limiter tells it of calls that ended well, with their latency, and of calls
 * that failed with a handled error; never of the caller's own abort.
 */
export abstract class LimitAlgorithm {
  /** The estimate, a real number in [min, max]. */
  protected limit: number;
  readonly #min: number; // #private: minified names
  readonly #max: number;

  constructor(initial: number, min: number, max: number) {
    this.limit = initial;
    this.#min = min;
    this.#max = max;
  }

  /**
   * A call ended well after `rtt` ms, with `inflight` calls running as it
   * ended (itself included). The limit only grows while it is in use
   * ({@link inUse}): an idle service must not drift to `maxLimit`.
   */
  abstract sample(rtt: number, inflight: number): number;

  /**
   * A call failed with a handled error (a timeout, a 503): the downstream is
   * overloaded or failing, and every algorithm backs off multiplicatively.
   */
  drop(): number {
    return this.set(this.limit * BACKOFF);
  }

  /** Clamps `limit` into [min, max], keeps it and returns it. */
  protected set(limit: number): number {
    return (this.limit = Math.min(this.#max, Math.max(this.#min, limit)));
  }

  /** Whether the limit is (nearly) what holds calls back: at least half of it is in flight. */
  protected inUse(inflight: number): boolean {
    return inflight * 2 >= this.limit;
  }

  /** At the floor: latency seen there is the downstream's own, not queueing that this limiter causes. */
  protected get atMin(): boolean {
    return this.limit <= this.#min;
  }
}

/** The factor a handled failure multiplies the limit by (Netflix's AIMD default). */
export const BACKOFF = 0.9;
