// Bad fleet options are refused at once with a TypeError/RangeError naming the option, with a
// store or without one: RateLimiter's and RetryBudget's `key`, CircuitBreaker's `syncInterval`
// (before, `new CircuitBreaker({ syncInterval: -1 })` or `new RetryBudget({ key: 42 })` was accepted
// in silence and threw only once someone added the store). CircuitBreaker's `key` is checked with a
// store only (see below).
import { describe, expect, it } from 'vitest';
import { CircuitBreaker, RateLimiter, RetryBudget } from '../../src/index.js';

describe('fleet options checked without a store', () => {
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

  // CircuitBreaker checks `key` only with a store (the fleet glue, at once): without one nothing
  // reads it, and the check would cost the core bundle ~30-39 B min+gzip, past its budget (docs/fleet.md).
  it('CircuitBreaker refuses a bad key with a store, at once', async () => {
    const { createMemoryStore } = await import('../../src/index.js');
    for (const key of [42, '', {}]) expect(() => new CircuitBreaker({ store: createMemoryStore(), key: key as string })).toThrow(/key/);
  });
});
