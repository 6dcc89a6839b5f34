import { ResilienceError } from './errors.js';

/** Options of {@link HttpStatusError}. */
export interface HttpStatusErrorOptions {
  /** The response that failed. */
  readonly response: Response;
  /**
   * The wait its `Retry-After` header asks for, in ms; `undefined` without a usable header.
   * @default undefined
   */
  readonly retryAfter?: number | undefined;
  /**
   * What led to the error.
   * @default undefined
   */
  readonly cause?: unknown | undefined;
}

/**
 * Thrown inside the policy by `resilientFetch` for a response that is a
 * failure (408, 429, any 5xx, or 413 with `Retry-After`), so a retry
 * retries it, a breaker counts it and a fallback replaces it. If the policy
 * gives up with it, the caller receives `response` instead, as plain fetch would.
 *
 * @example
 * ```ts
 * import { HttpStatusError, resilientFetch, retryWithBackoff } from 'breakwater';
 *
 * const retry = retryWithBackoff();
 * retry.on('retry', ({ error }) => {
 *   if (error instanceof HttpStatusError) console.log(`HTTP ${error.status}, next try in ${error.retryAfter ?? 'backoff'} ms`);
 * });
 * const res = await resilientFetch(retry)('https://api.example.com/items');
 * ```
 */
export class HttpStatusError extends ResilienceError {
  /** The response that failed (its body is discarded before a retry is sent). */
  readonly response: Response;
  /** Its HTTP status. */
  readonly status: number;
  /** The wait its `Retry-After` header asks for, in ms, which `retryWithBackoff` honours; `undefined` without one. */
  readonly retryAfter: number | undefined;
  constructor(message: string | undefined, options: HttpStatusErrorOptions) {
    super(message ?? `HTTP ${options.response.status}`, options);
    this.response = options.response;
    this.status = options.response.status;
    this.retryAfter = options.retryAfter;
  }
  override name: string = 'HttpStatusError';
}

/**
 * Whether `value` is a `Response` whose status is a failure: 408, 429, any
 * 5xx, or 413 with `Retry-After`. `resilientFetch` returns such
 * a response as an answer (not a failure) when it must not be retried — a POST,
 * or a `Retry-After` beyond `maxRetryAfter`; give this to a breaker's or a
 * fallback's `handleResult` to count or replace those too.
 *
 * @example
 * ```ts
 * import { CircuitBreaker, isFailureResponse, resilientFetch } from 'breakwater';
 *
 * const breaker = new CircuitBreaker({ handleResult: isFailureResponse });
 * const post = resilientFetch(breaker);
 * ```
 */
export function isFailureResponse(value: unknown): boolean {
  return typeof Response !== 'undefined' && value instanceof Response && failed(value);
}

/** @internal Whether a response's status makes it a failure. */
export function failed(response: Response): boolean {
  const status = response.status;
  if (status < 408) return false; // the happy path: one comparison
  if (status >= 500) return status < 600; // every 5xx, as the contract says
  return status === 408 || status === 429 || (status === 413 && response.headers.has('retry-after'));
}
