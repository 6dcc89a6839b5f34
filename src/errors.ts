/**
 * Base class of every error breakwater raises itself.
 *
 * @example
 * ```ts
 * import { ResilienceError, wrap, CircuitBreaker, Bulkhead } from 'breakwater';
 *
 * const policy = wrap(new CircuitBreaker(), new Bulkhead({ maxConcurrent: 10 }));
 * try { await policy.execute(({ signal }) => fetch('https://api.example.com/items', { signal })); }
 * catch (error) { if (error instanceof ResilienceError) console.warn('shed:', error.name); }
 * ```
 */
export class ResilienceError extends Error {
  // Error's own constructor, `(message?, { cause }?)`: one of ours would only cost bytes.
  override name: string = 'ResilienceError';
}

/** Options of {@link BrokenCircuitError}. */
export interface BrokenCircuitErrorOptions {
  /**
   * What led to the rejection.
   * @default undefined
   */
  readonly cause?: unknown | undefined;
  /**
   * Milliseconds until the breaker admits trial calls again.
   * @default 0
   */
  readonly retryAfter?: number | undefined;
}

/**
 * Raised by a `CircuitBreaker` that is open: the call was not made.
 *
 * @example
 * ```ts
 * import { BrokenCircuitError, CircuitBreaker } from 'breakwater';
 *
 * const breaker = new CircuitBreaker();
 * try { await breaker.execute(({ signal }) => fetch('https://api.example.com/items', { signal })); }
 * catch (error) { if (error instanceof BrokenCircuitError) console.log(`try again in ${error.retryAfter} ms`); }
 * ```
 */
export class BrokenCircuitError extends ResilienceError {
  /** Milliseconds until the breaker admits trial calls again. */
  readonly retryAfter: number;
  constructor(message = 'Circuit is open', options: BrokenCircuitErrorOptions = {}) {
    super(message, options);
    this.retryAfter = options.retryAfter ?? 0;
  }
  override name: string = 'BrokenCircuitError';
}

/**
 * Raised by a `CircuitBreaker` held open by `isolate()`. Its `retryAfter` is
 * `Infinity`: no trial call is admitted until the isolation is released.
 *
 * @example
 * ```ts
 * import { IsolatedCircuitError, CircuitBreaker } from 'breakwater';
 *
 * const breaker = new CircuitBreaker();
 * const release = breaker.isolate();
 * await breaker.execute(() => 'not called').catch((error: unknown) => error instanceof IsolatedCircuitError); // true
 * release();
 * ```
 */
export class IsolatedCircuitError extends BrokenCircuitError {
  constructor(message = 'Circuit is isolated', options: { readonly cause?: unknown } = {}) {
    super(message, { ...options, retryAfter: Infinity });
  }
  override name: string = 'IsolatedCircuitError';
}

/** Why a `Bulkhead` rejected a call. */
export type BulkheadRejectionReason = 'full' | 'queue-timeout';

/** Options of {@link BulkheadRejectedError}. */
export interface BulkheadRejectedErrorOptions {
  /**
   * What led to the rejection.
   * @default undefined
   */
  readonly cause?: unknown | undefined;
  /**
   * `'full'`: no slot and no room in the queue; `'queue-timeout'`: waited `queueTimeout` ms in the queue.
   * @default 'full'
   */
  readonly reason?: BulkheadRejectionReason | undefined;
}

/**
 * Raised by a `Bulkhead` that cannot take a call: it is full, or the call
 * waited too long in its queue.
 *
 * @example
 * ```ts
 * import { BulkheadRejectedError, Bulkhead } from 'breakwater';
 *
 * const bulkhead = new Bulkhead({ maxConcurrent: 10 });
 * try { await bulkhead.execute(({ signal }) => fetch('https://api.example.com/items', { signal })); }
 * catch (error) { if (error instanceof BulkheadRejectedError) console.log(error.reason); }
 * ```
 */
export class BulkheadRejectedError extends ResilienceError {
  /** `'full'` or `'queue-timeout'`. */
  readonly reason: BulkheadRejectionReason;
  constructor(message?: string, options: BulkheadRejectedErrorOptions = {}) {
    const reason = options.reason ?? 'full';
    super(message ?? (reason === 'full' ? 'Bulkhead is full' : 'Bulkhead queue timeout'), options);
    this.reason = reason;
  }
  override name: string = 'BulkheadRejectedError';
}

/** Options of {@link TimeoutError}. */
export interface TimeoutErrorOptions {
  /**
   * What led to the timeout (in the cooperative strategy, the error `fn` ended with).
   * @default undefined
   */
  readonly cause?: unknown | undefined;
  /**
   * The timeout that was exceeded, in ms.
   * @default 0
   */
  readonly timeout?: number | undefined;
}

/**
 * Raised by `withTimeout` when a call passes its deadline; also the reason
 * `ctx.signal` aborts with.
 *
 * @example
 * ```ts
 * import { TimeoutError, withTimeout } from 'breakwater';
 *
 * await withTimeout(10).execute(() => new Promise(() => {}))
 *   .catch((error) => error instanceof TimeoutError && error.timeout); // 10
 * ```
 */
export class TimeoutError extends ResilienceError {
  /** The timeout that was exceeded, in ms. */
  readonly timeout: number;
  constructor(message?: string, options: TimeoutErrorOptions = {}) {
    const timeout = options.timeout ?? 0;
    super(message ?? `Operation timed out after ${timeout} ms`, options);
    this.timeout = timeout;
  }
  override name: string = 'TimeoutError';
}

/** Options of {@link RateLimitedError}. */
export interface RateLimitedErrorOptions {
  /**
   * What led to the rejection.
   * @default undefined
   */
  readonly cause?: unknown | undefined;
  /**
   * Milliseconds until a token is due.
   * @default 0
   */
  readonly retryAfter?: number | undefined;
}

/**
 * Raised by a `RateLimiter` when no token comes in time. `retryAfter` is the
 * number of ms until one is due, which `retryWithBackoff` honours by default.
 *
 * @example
 * ```ts
 * import { RateLimitedError, RateLimiter } from 'breakwater';
 *
 * const limiter = new RateLimiter({ limit: 10, interval: 1_000 });
 * try { await limiter.execute(({ signal }) => fetch('https://api.example.com/items', { signal })); }
 * catch (error) { if (error instanceof RateLimitedError) console.log(`next token in ${error.retryAfter} ms`); }
 * ```
 */
export class RateLimitedError extends ResilienceError {
  /** Milliseconds until a token is due. */
  readonly retryAfter: number;
  constructor(message = 'Rate limit exceeded', options: RateLimitedErrorOptions = {}) {
    super(message, options);
    this.retryAfter = options.retryAfter ?? 0;
  }
  override name: string = 'RateLimitedError';
}

/** Options of {@link ThrottledError}. */
export interface ThrottledErrorOptions {
  /**
   * What led to the rejection.
   * @default undefined
   */
  readonly cause?: unknown | undefined;
  /**
   * The probability with which the throttle rejected calls when it rejected this one, in [0, 1].
   * @default 0
   */
  readonly rejectionRate?: number | undefined;
}

/**
 * Raised by an `AdaptiveThrottle` that turned a call away before it was
 * made: the backend has been failing so many recent requests that this client
 * throttles itself. `retryWithBackoff` does not retry it by default.
 *
 * @example
 * ```ts
 * import { ThrottledError, AdaptiveThrottle } from 'breakwater';
 *
 * const throttle = new AdaptiveThrottle();
 * try { await throttle.execute(({ signal }) => fetch('https://api.example.com/items', { signal })); }
 * catch (error) { if (error instanceof ThrottledError) console.log(`shed locally, rate ${error.rejectionRate}`); }
 * ```
 */
export class ThrottledError extends ResilienceError {
  /** The probability with which the throttle rejected calls when it rejected this one. */
  readonly rejectionRate: number;
  constructor(message = 'Client is throttling itself: the backend failed too many recent requests', options: ThrottledErrorOptions = {}) {
    super(message, options);
    this.rejectionRate = options.rejectionRate ?? 0;
  }
  override name: string = 'ThrottledError';
}
