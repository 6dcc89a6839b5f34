import { ThrottledError } from './errors.js';
import { isCalledOff, runNext, type Ctx, type Next } from './internal/context.js';
import { RequestWindow } from './internal/request-window.js';
import { ABOVE, functionOption, numberOption, objectOptions } from './internal/validate.js';
import { PolicyBase } from './policy.js';

/** Options of {@link AdaptiveThrottle}. */
export interface AdaptiveThrottleOptions {
  /**
   * Accepts multiplier, a number >= 1: calls are rejected once requests exceed
   * `k × accepts`. Higher throttles later (and lets more doomed requests
   * through); lower throttles sooner.
   * @default 2
   */
  readonly k?: number | undefined;
  /**
   * The sliding window, in ms, over which requests and accepts are counted.
   * @default 60_000
   */
  readonly window?: number | undefined;
  /**
   * The highest probability with which a call is rejected, in [0, 1], so that
   * some requests always reach the backend and see it recover.
   * @default 0.9
   */
  readonly maxRejectionRate?: number | undefined;
  /**
   * Source of randomness for the rejection draw, uniform in [0, 1). Seed it in tests.
   * @default Math.random
   */
  readonly random?: (() => number) | undefined;
  /**
   * Which thrown errors mean the backend did not accept the call. An error it
   * returns `false` for (it passes through) counts as an accept: the backend
   * answered. The caller's own abort is always an accept.
   * @default every error
   */
  readonly handle?: ((error: unknown) => boolean) | undefined;
  /**
   * Which returned values mean the backend did not accept the call (e.g. a 503 `Response`).
   * @default none
   */
  readonly handleResult?: ((value: unknown) => boolean) | undefined;
}

/** Events of {@link AdaptiveThrottle}. */
export interface AdaptiveThrottleEvents {
  /** A call was turned away before `fn` ran; `rejectionRate` is the probability it was rejected with. */
  rejected: { readonly rejectionRate: number };
}

/** What an {@link AdaptiveThrottle} counts now, over its window. */
export interface AdaptiveThrottleStats {
  /** Calls counted in the window, the rejected ones included. */
  readonly requests: number;
  /** Calls in the window that the backend accepted. */
  readonly accepts: number;
  /** The probability with which a call made now would be rejected. */
  readonly rejectionRate: number;
}

const OWNER = 'AdaptiveThrottle';

// The throttle sheds up to 90 % of calls while the backend is down, and a
// stack trace costs microseconds while pointing only into the throttle: where
// the runtime has Error.stackTraceLimit (V8, JavaScriptCore) rejections are built without one.
const ErrorCtor = Error as { stackTraceLimit?: number };
function rejection(rejectionRate: number): ThrottledError {
  const limit = ErrorCtor.stackTraceLimit;
  if (typeof limit === 'number') ErrorCtor.stackTraceLimit = 0;
  try {
    return new ThrottledError(undefined, { rejectionRate });
  } finally {
    if (typeof limit === 'number') ErrorCtor.stackTraceLimit = limit;
  }
}

/**
 * Client-side throttling (Google SRE, "Handling Overload"), and a Policy. It
 * counts, over the last `window` ms, the calls it was asked to make
 * (`requests`) and those the backend accepted (`accepts`), and rejects a new
 * call with `ThrottledError`, before `fn` runs, with probability
 * `max(0, (requests − k × accepts) / (requests + 1))`, at most
 * `maxRejectionRate`. Rejected calls count as requests, so a backend that
 * keeps failing receives about `k` times what it accepts instead of every
 * request. Every call is O(1).
 *
 * @example
 * ```ts
 * import { AdaptiveThrottle, retryWithBackoff, wrap } from 'breakwater';
 *
 * const throttle = new AdaptiveThrottle({ k: 2, window: 60_000 });
 * throttle.on('rejected', ({ rejectionRate }) => console.warn(`throttling ${Math.round(rejectionRate * 100)} %`));
 * // Outside the throttle, a retry's attempts are requests too; ThrottledError is not retried.
 * const api = wrap(retryWithBackoff(), throttle);
 * const res = await api.execute(async ({ signal }) => {
 *   const response = await fetch('https://api.example.com/items', { signal });
 *   if (response.status >= 500) throw new Error(`HTTP ${response.status}`);
 *   return response;
 * });
 * console.log(res.status, throttle.stats());
 * ```
 */
export class AdaptiveThrottle extends PolicyBase<AdaptiveThrottleEvents> {
  /** The accepts multiplier. */
  readonly k: number;
  /** The window in ms. */
  readonly window: number;
  /** The highest probability of a rejection. */
  readonly maxRejectionRate: number;
  // #private: minifiers shorten these names, plain properties they cannot (bench/bundle.mjs).
  readonly #random: (() => number) | undefined;
  readonly #handle: AdaptiveThrottleOptions['handle'];
  readonly #handleResult: AdaptiveThrottleOptions['handleResult'];
  readonly #counts: RequestWindow;

  constructor(options?: AdaptiveThrottleOptions) {
    super('rejected', OWNER);
    const o = objectOptions<AdaptiveThrottleOptions>(OWNER, options, 'k window maxRejectionRate random handle handleResult');
    this.k = numberOption(OWNER, 'k', o.k, 2, 0, 1);
    this.window = numberOption(OWNER, 'window', o.window, 60_000, ABOVE);
    this.maxRejectionRate = numberOption(OWNER, 'maxRejectionRate', o.maxRejectionRate, 0.9, 0, 0, 1);
    this.#random = functionOption(OWNER, 'random', o.random);
    this.#handle = functionOption(OWNER, 'handle', o.handle);
    this.#handleResult = functionOption(OWNER, 'handleResult', o.handleResult);
    this.#counts = new RequestWindow(this.window);
  }

  /** The counts over the current window, e.g. for a metrics gauge. */
  stats(): AdaptiveThrottleStats {
    const counts = this.#counts;
    counts.advance();
    return { requests: counts.requests, accepts: counts.accepts, rejectionRate: this.#rate() };
  }

  /** @internal */
  run(ctx: Ctx, next: Next): Promise<unknown> {
    this.#counts.advance();
    // From the counts before this call is added (a first call is never rejected).
    const rate = this.#rate();
    this.#counts.request();
    if (rate > 0) {
      let draw: number;
      try {
        // Read at call time: a test that stubs Math.random after creating the throttle is heard.
        draw = (this.#random ?? Math.random)();
      } catch (error) {
        return Promise.reject(error); // run never throws: execute always returns a promise
      }
      if (draw < rate) {
        if (this.listeners.rejected !== undefined) this.emit('rejected', { rejectionRate: rate });
        return Promise.reject(rejection(rate));
      }
    }
    // Nothing can abort this call, so no error is the caller's abort: reactions
    // bound once, no closure per call.
    if (!ctx.abortable) return runNext(next, ctx).then(this.#onValue, this.#onError);
    return runNext(next, ctx).then(this.#onValue, (error: unknown) => this.#settleError(isCalledOff(ctx), error));
  }

  #rate(): number {
    const { requests, accepts } = this.#counts;
    const rate = (requests - this.k * accepts) / (requests + 1);
    return rate > 0 ? Math.min(rate, this.maxRejectionRate) : 0;
  }

  // Bound once per throttle: the happy path allocates no closure for them.
  readonly #onValue = (value: unknown): unknown => {
    // A handleResult that throws: not accepted, and the call fails with its error.
    if (this.#handleResult === undefined || !this.#handleResult(value)) this.#counts.accept();
    return value;
  };

  readonly #onError = (error: unknown): never => this.#settleError(false, error);

  /** Counts an error the backend answered with as an accept, and rethrows it. */
  #settleError(calledOff: boolean, error: unknown): never {
    // The caller's own abort tells nothing about the backend; an error `handle`
    // passes through is an answer from it. A throwing `handle`: not accepted.
    if (calledOff || (this.#handle !== undefined && !this.#handle(error))) this.#counts.accept();
    throw error;
  }
}
