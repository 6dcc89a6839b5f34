import { assert, test } from '../harness.mjs';

/** Every value the package root must export (types vanish at runtime). */
export const VALUE_EXPORTS = [
  'wrap',
  'PolicyWrap',
  'ResilienceError',
  'BrokenCircuitError',
  'IsolatedCircuitError',
  'BulkheadRejectedError',
  'TimeoutError',
  'RateLimitedError',
  'retryWithBackoff',
  'RetryPolicy',
  'withTimeout',
  'TimeoutPolicy',
  'withFallback',
  'FallbackPolicy',
  'CircuitBreaker',
  'Bulkhead',
  'RateLimiter',
  'hedge',
  'HedgePolicy',
  'RetryBudget',
  'chaos',
  'ChaosPolicy',
  'resilientFetch',
  'HttpStatusError',
  'isFailureResponse',
  'createStore',
  'createRedisStore',
  'createMemoryStore',
];

/** Internals that must never leak out of the package root. */
const INTERNAL = ['Ctx', 'Scope', 'invoke', 'sleep', 'startTimer', 'stopTimer', 'numberOption', 'backoffDelay'];

export function register(bw) {
  const unknown = Object.keys(bw).filter((name) => !VALUE_EXPORTS.includes(name));
  if (unknown.length > 0) console.log(`note: exports the portable suite does not know yet: ${unknown.join(', ')}`);

  test('the package root exports every public value', () => {
    for (const name of VALUE_EXPORTS) assert.equal(typeof bw[name], 'function', `export ${name}`);
  });

  test('the package root exports no internals', () => {
    for (const name of INTERNAL) assert.equal(bw[name], undefined, `internal ${name} is exported`);
  });
}
