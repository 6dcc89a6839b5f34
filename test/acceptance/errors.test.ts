// Contract: "Errors" — exercised against dist/.
import { describe, expect, it } from 'vitest';
import { lib } from './dist.js';

const { ResilienceError, BrokenCircuitError, IsolatedCircuitError, BulkheadRejectedError, TimeoutError } = lib;

describe('Errors', () => {
  const cause = new Error('cause');
  const all = [
    new BrokenCircuitError('a', { cause, retryAfter: 1_000 }),
    new IsolatedCircuitError('b', { cause }),
    new BulkheadRejectedError('c', { cause, reason: 'queue-timeout' }),
    new TimeoutError('d', { cause, timeout: 50 }),
  ];

  it('all extend ResilienceError (itself extends Error), set name to the class name, and accept cause', () => {
    expect(new ResilienceError('x')).toBeInstanceOf(Error);
    expect(new ResilienceError('x').name).toBe('ResilienceError');
    for (const error of all) {
      expect(error).toBeInstanceOf(ResilienceError);
      expect(error).toBeInstanceOf(Error);
      expect(error.name).toBe(error.constructor.name);
      expect(error.cause).toBe(cause);
    }
  });

  it('IsolatedCircuitError extends BrokenCircuitError', () => {
    expect(new IsolatedCircuitError()).toBeInstanceOf(BrokenCircuitError);
    expect(new IsolatedCircuitError().name).toBe('IsolatedCircuitError');
  });

  it('carry their fields: retryAfter, reason, timeout', () => {
    expect(all[0]).toMatchObject({ name: 'BrokenCircuitError', retryAfter: 1_000 });
    expect(all[1]).toMatchObject({ name: 'IsolatedCircuitError', retryAfter: Infinity });
    expect(all[2]).toMatchObject({ name: 'BulkheadRejectedError', reason: 'queue-timeout' });
    expect(all[3]).toMatchObject({ name: 'TimeoutError', timeout: 50 });
    expect(new BulkheadRejectedError().reason).toBe('full');
  });
});
