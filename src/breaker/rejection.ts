import { BrokenCircuitError, IsolatedCircuitError } from '../errors.js';

// An open breaker's whole point is to fail fast, and a stack trace costs
// microseconds while pointing only into the breaker. Where the runtime has
// Error.stackTraceLimit (V8, JavaScriptCore) rejections are built without one;
// name, message, retryAfter and cause stay.
const ErrorCtor = Error as { stackTraceLimit?: number | undefined };

/** The error a breaker rejects a call with, in `state`. @internal */
export function rejection(state: 'open' | 'half-open' | 'isolated', retryAfter: number, cause: unknown): BrokenCircuitError {
  // Set and put back whatever it was: where the runtime has none, it stays without effect.
  const limit = ErrorCtor.stackTraceLimit;
  ErrorCtor.stackTraceLimit = 0;
  // Without a cause, none at all: `{ cause: undefined }` would still set the property.
  const options = cause === undefined ? { retryAfter } : { retryAfter, cause };
  // (The constructors cannot throw: no try/finally needed to restore the limit.)
  const error =
    state === 'isolated'
      ? new IsolatedCircuitError(undefined, options)
      : new BrokenCircuitError(state === 'open' ? undefined : 'Circuit is half-open: trials busy', options);
  ErrorCtor.stackTraceLimit = limit;
  return error;
}
