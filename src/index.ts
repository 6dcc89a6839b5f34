export { wrap, PolicyWrap } from './policy.js';
export type { Policy, PolicyBase, PolicyContext, WidenedBy } from './policy.js';
export type { Emitter, Listener, Unsubscribe } from './events.js';
export {
  ResilienceError,
  BrokenCircuitError,
  IsolatedCircuitError,
  BulkheadRejectedError,
  TimeoutError,
  RateLimitedError,
} from './errors.js';
export type {
  BrokenCircuitErrorOptions,
  BulkheadRejectedErrorOptions,
  BulkheadRejectionReason,
  TimeoutErrorOptions,
  RateLimitedErrorOptions,
} from './errors.js';
export { retryWithBackoff, RetryPolicy } from './retry.js';
export type { RetryOptions, RetryEvents, RetryBudgetLike, Outcome, GiveUpReason } from './retry.js';
export type { Jitter } from './backoff.js';
export { withTimeout, TimeoutPolicy } from './timeout.js';
export type { TimeoutOptions, TimeoutEvents, TimeoutStrategy } from './timeout.js';
export { withFallback, FallbackPolicy } from './fallback.js';
export type { FallbackOptions, FallbackEvents, Fallback } from './fallback.js';
export { CircuitBreaker } from './circuit-breaker.js';
export type { CircuitBreakerEvents, CircuitBreakerStats } from './circuit-breaker.js';
export type { CircuitBreakerOptions } from './breaker/options.js';
export type { CircuitBreakerSnapshot, CircuitState } from './breaker/snapshot.js';
export { hedge, HedgePolicy } from './hedge.js';
export type { HedgeOptions, HedgeEvents } from './hedge.js';
export { RetryBudget } from './retry-budget.js';
export type { RetryBudgetOptions, RetryBudgetStats } from './retry-budget.js';
export { chaos, ChaosPolicy } from './chaos.js';
export type { ChaosOptions, ChaosEvents, ChaosLatency } from './chaos.js';
export { resilientFetch } from './fetch.js';
export { HttpStatusError, isFailureResponse } from './http-status.js';
export type { FetchFunction, ResilientFetchOptions } from './fetch.js';
export type { HttpStatusErrorOptions } from './http-status.js';
export { Bulkhead } from './bulkhead.js';
export type { BulkheadOptions, BulkheadEvents } from './bulkhead.js';
export { RateLimiter } from './rate-limiter.js';
export type { RateLimiterOptions, RateLimiterEvents } from './rate-limiter.js';
