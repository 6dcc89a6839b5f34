import { describe, expect, it } from 'vitest';
import {
  BrokenCircuitError,
  BulkheadRejectedError,
  IsolatedCircuitError,
  RateLimitedError,
  ResilienceError,
  ThrottledError,
  TimeoutError,
} from './errors.js';

describe('errors', () => {
  const cause = new Error('root cause');
  const cases = [
    { name: 'ResilienceError', make: () => new ResilienceError('m', { cause }), parents: [Error] },
    { name: 'BrokenCircuitError', make: () => new BrokenCircuitError('m', { cause }), parents: [ResilienceError, Error] },
    {
      name: 'IsolatedCircuitError',
      make: () => new IsolatedCircuitError('m', { cause }),
      parents: [BrokenCircuitError, ResilienceError, Error],
    },
    { name: 'BulkheadRejectedError', make: () => new BulkheadRejectedError('m', { cause }), parents: [ResilienceError, Error] },
    { name: 'TimeoutError', make: () => new TimeoutError('m', { cause }), parents: [ResilienceError, Error] },
    { name: 'RateLimitedError', make: () => new RateLimitedError('m', { cause }), parents: [ResilienceError, Error] },
    { name: 'ThrottledError', make: () => new ThrottledError('m', { cause }), parents: [ResilienceError, Error] },
  ] as const;

  for (const { name, make, parents } of cases) {
    it(`${name} sets name to its class name, keeps message and cause, and extends its parents`, () => {
      const error = make();
      expect(error.name).toBe(name);
      expect(error.constructor.name).toBe(name);
      expect(error.message).toBe('m');
      expect(error.cause).toBe(cause);
      expect(String(error)).toBe(`${name}: m`);
      expect(error.stack?.split('\n')[0]).toBe(`${name}: m`);
      for (const parent of parents) expect(error).toBeInstanceOf(parent);
    });
  }

  it('has no cause property when none is given', () => {
    expect('cause' in new TimeoutError()).toBe(false);
    expect('cause' in new ResilienceError('x')).toBe(false);
  });

  it('BrokenCircuitError carries retryAfter, 0 by default, and a default message', () => {
    expect(new BrokenCircuitError('open', { retryAfter: 1234 }).retryAfter).toBe(1234);
    expect(new BrokenCircuitError().retryAfter).toBe(0);
    expect(new BrokenCircuitError().message).toBe('Circuit is open');
  });

  it('IsolatedCircuitError always has retryAfter Infinity', () => {
    const error = new IsolatedCircuitError();
    expect(error.retryAfter).toBe(Infinity);
    expect(error.message).toBe('Circuit is isolated');
    expect(error.name).toBe('IsolatedCircuitError');
  });

  it("BulkheadRejectedError carries its reason, 'full' by default, with a message that says it", () => {
    expect(new BulkheadRejectedError().reason).toBe('full');
    expect(new BulkheadRejectedError().message).toMatch(/full/);
    const timedOut = new BulkheadRejectedError(undefined, { reason: 'queue-timeout' });
    expect(timedOut.reason).toBe('queue-timeout');
    expect(timedOut.message).toMatch(/queue/);
  });

  it('TimeoutError carries the timeout and names it in its default message', () => {
    const error = new TimeoutError(undefined, { timeout: 250 });
    expect(error.timeout).toBe(250);
    expect(error.message).toContain('250');
    expect(new TimeoutError().timeout).toBe(0);
  });

  it('RateLimitedError carries retryAfter, 0 by default', () => {
    expect(new RateLimitedError('slow down', { retryAfter: 500 }).retryAfter).toBe(500);
    expect(new RateLimitedError().retryAfter).toBe(0);
  });

  it('ThrottledError carries rejectionRate, 0 by default, with a message that says the client throttles itself', () => {
    expect(new ThrottledError(undefined, { rejectionRate: 0.8 }).rejectionRate).toBe(0.8);
    expect(new ThrottledError().rejectionRate).toBe(0);
    expect(new ThrottledError().message).toMatch(/^Client is throttling itself/);
  });

  it('a user subclass can set its own name', () => {
    class QuotaError extends ResilienceError {
      override name = 'QuotaError';
    }
    const error = new QuotaError('over quota');
    expect(error.name).toBe('QuotaError');
    expect(error).toBeInstanceOf(ResilienceError);
  });
});
