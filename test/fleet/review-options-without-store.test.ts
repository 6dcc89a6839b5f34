// Review (issue 14): bad input is refused at once with a TypeError/RangeError naming the
// option. RateLimiter checks `key` whether or not a store is given; CircuitBreaker checks
// `key` and `syncInterval` only with a store, and RetryBudget checks `key` only with one, so
// `new CircuitBreaker({ syncInterval: -1 })` or `{ key: 42 }` is accepted in silence (and
// throws only later, when someone adds the store).
import { describe, expect, it } from 'vitest';
import { CircuitBreaker, RateLimiter, RetryBudget } from '../../src/index.js';

describe('review: fleet options checked without a store', () => {
  it('RateLimiter refuses a bad key without a store (as it does today)', () => {
    expect(() => new RateLimiter({ limit: 1, interval: 1_000, key: 42 as unknown as string })).toThrow(TypeError);
  });

  it('CircuitBreaker refuses a bad syncInterval without a store', () => {
    for (const syncInterval of [-1, 0, NaN, Infinity]) {
      expect(() => new CircuitBreaker({ syncInterval })).toThrow(RangeError);
      expect(() => new CircuitBreaker({ syncInterval })).toThrow(/syncInterval/);
    }
  });

  it('RetryBudget refuses a key that is not a non-empty string without a store', () => {
    for (const key of [42, '', {}]) expect(() => new RetryBudget({ key: key as string })).toThrow(/key/);
  });

  // Skipped: the check costs the core bundle (wrap + retry/timeout/fallback/breaker/bulkhead) about
  // 30-39 B min+gzip, past its 7600 B budget. With a store, `key` is checked at once (the fleet glue);
  // without one nothing reads it. For the lead to decide (API.md: "a non-empty string, required when
  // `store` is given").
  it.skip('CircuitBreaker refuses a key that is not a non-empty string without a store', () => {
    for (const key of [42, '', {}]) expect(() => new CircuitBreaker({ key: key as string })).toThrow(/key/);
  });
});
