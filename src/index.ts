import type { Emitter as EmitterClass } from './events.js';
import type { PolicyBase as PolicyBaseClass } from './policy.js';

export { wrap, PolicyWrap } from './policy.js';
export type { Policy, PolicyContext, WidenedBy } from './policy.js';
export type { Listener, Unsubscribe } from './events.js';

// The two base classes are types only: there is no export to construct or extend
// at run time. Aliases rather than `export type { … }`: the d.ts bundler turns a
// type-only export of a class back into a value export (tools/pack-check checks).

/**
 * The event surface every built-in policy has: `on(event, listener)` returns a
 * function that unsubscribes. A type only: get one from a policy, not `new`.
 */
export type Emitter<E extends object> = EmitterClass<E>;

/**
 * Base of the built-in policies, as a type only (to type a list of them): write
 * your own policy as an object with `execute` (see {@link Policy}), not a subclass.
 */
export type PolicyBase<E extends object = Record<never, never>, W = never> = PolicyBaseClass<E, W>;
export {
  ResilienceError,
  BrokenCircuitError,
  IsolatedCircuitError,
  BulkheadRejectedError,
  TimeoutError,
  RateLimitedError,
  ThrottledError,
} from './errors.js';
export type {
  BrokenCircuitErrorOptions,
  BulkheadRejectedErrorOptions,
  BulkheadRejectionReason,
  TimeoutErrorOptions,
  RateLimitedErrorOptions,
  ThrottledErrorOptions,
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
export type { RetryBudgetOptions, RetryBudgetStats, RetryBudgetEvents, RetryBudgetFleetStats } from './retry-budget.js';
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
export { AdaptiveLimiter } from './adaptive-limiter.js';
export type { AdaptiveLimiterOptions, AdaptiveLimiterEvents, AdaptiveLimitAlgorithm } from './adaptive-limiter.js';
export { AdaptiveThrottle } from './adaptive-throttle.js';
export type { AdaptiveThrottleOptions, AdaptiveThrottleEvents, AdaptiveThrottleStats } from './adaptive-throttle.js';
export { PolicyRegistry } from './registry.js';
export type { PolicyRegistryOptions, PolicyRegistryEvents, EvictReason } from './registry.js';
export { instrument } from './instrument.js';
export type { InstrumentOptions, InstrumentMeter, InstrumentObservable, InstrumentObservableResult, InstrumentCreateOptions, InstrumentAttributes } from './instrument.js';
export { createStore } from './store/store.js';
export type { StoreOptions } from './store/store.js';
export { createRedisStore } from './store/redis.js';
export type { RedisStoreOptions, RedisSend } from './store/redis.js';
export { createMemoryStore } from './store/memory.js';
export type { Store, StoreBackend, RateLimitRequest, RateLimitReply, BreakerRequest, BreakerReply, BudgetRequest, BudgetReply } from './store/types.js';
