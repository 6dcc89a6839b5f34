// The published types, as a user's compiler sees them through the package's
// exports (copied to check.cts and check.mts, so both the require and the
// import conditions are checked), then run.
import {
  wrap,
  retryWithBackoff,
  withTimeout,
  withFallback,
  TimeoutError,
  BrokenCircuitError,
  ResilienceError,
  CircuitBreaker,
  Bulkhead,
  RateLimiter,
  hedge,
  resilientFetch,
  type CircuitState,
  type FetchFunction,
  type Policy,
  type PolicyContext,
  type RetryOptions,
  type Outcome,
  type Emitter,
  type PolicyBase,
  type RetryEvents,
} from 'breakwater';
// As a user would write them, without `type`: both are types only in the package.
import { Emitter as EmitterValue, PolicyBase as PolicyBaseValue } from 'breakwater';

type Equal<A, B> = (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;
function expectType<_ extends true>(): void {}

// execute's result follows fn, sync or async.
const pipeline = wrap(retryWithBackoff({ maxRetries: 1, initialDelay: 1 }), withTimeout(1_000));
const asyncResult = pipeline.execute(async (ctx: PolicyContext) => ctx.attempt);
expectType<Equal<typeof asyncResult, Promise<number>>>();
const syncResult = pipeline.execute(() => 'text');
expectType<Equal<typeof syncResult, Promise<string>>>();

// A fallback widens the result to its own type, also inside wrap.
const fallback = withFallback(null);
const widened = wrap(fallback, retryWithBackoff()).execute(() => 42);
expectType<Equal<typeof widened, Promise<number | null>>>();

// Event payloads follow the event name.
retryWithBackoff().on('retry', (event) => {
  expectType<Equal<typeof event.attempt, number>>();
  expectType<Equal<typeof event.delay, number>>();
});
withTimeout(5).on('timeout', (event) => {
  expectType<Equal<typeof event.timeout, number>>();
});

new CircuitBreaker().on('stateChange', (event) => {
  expectType<Equal<typeof event.from, CircuitState>>();
  expectType<Equal<CircuitState, 'closed' | 'open' | 'half-open' | 'isolated'>>();
});
new Bulkhead({ maxConcurrent: 1 }).on('rejected', (event) => {
  expectType<Equal<typeof event.reason, 'full' | 'queue-timeout'>>();
});
expectType<Equal<ReturnType<typeof resilientFetch>, FetchFunction>>();
expectType<Equal<ReturnType<FetchFunction>, Promise<Response>>>();
const hedged = wrap(hedge({ delay: 100 }), new CircuitBreaker()).execute(async () => ({ id: 1 }));
expectType<Equal<typeof hedged, Promise<{ id: number }>>>();
void hedged.catch(() => {});

// Options reject wrong types (never called: these would throw at run time).
export function wrongOptions(): void {
  // @ts-expect-error: retry has no 'timeout' event
  retryWithBackoff().on('timeout', () => {});
  // @ts-expect-error: a rate limiter needs its interval
  new RateLimiter({ limit: 10 });
  // @ts-expect-error: a bulkhead needs maxConcurrent
  new Bulkhead({ maxQueue: 10 });
  // @ts-expect-error: hedge's delay is a number or a function
  hedge({ delay: '100' });
  // @ts-expect-error: openDuration is ms or (opens) => ms
  new CircuitBreaker({ openDuration: '30s' });
  // @ts-expect-error: maxRetries is a number
  retryWithBackoff({ maxRetries: '3' });
  // @ts-expect-error: jitter is one of four names
  retryWithBackoff({ jitter: 'random' });
  // @ts-expect-error: strategy is 'aggressive' or 'cooperative'
  withTimeout(5, { strategy: 'optimistic' });
}
const options: RetryOptions = { handle: (error) => error instanceof TimeoutError, delay: (_attempt, outcome: Outcome) => ('error' in outcome ? 1 : 2) };

// Emitter and PolicyBase type what the built-in policies are ...
const builtIns: PolicyBase<object, unknown>[] = [retryWithBackoff(), new CircuitBreaker(), withFallback(0)];
const emitter: Emitter<RetryEvents> = retryWithBackoff();
void builtIns;
void emitter;
// ... but there are no such values at run time, so tsc must refuse to use them
// as values (a `@ts-expect-error` not needed fails the check). Never called.
export function typesOnly(value: unknown): void {
  // @ts-expect-error: Emitter is a type only (so `new Emitter(…)` is refused too, whatever its arguments)
  void EmitterValue;
  // @ts-expect-error: PolicyBase is a type only
  abstract class Mine extends PolicyBaseValue {}
  void Mine;
  // @ts-expect-error: PolicyBase is a type only
  void (value instanceof PolicyBaseValue);
}

// A user's own policy composes.
const mine: Policy = {
  execute: (fn, signal) => Promise.resolve(fn({ signal: signal ?? new AbortController().signal, attempt: 1 })),
};

void (async () => {
  const value = await wrap(mine, retryWithBackoff(options), withTimeout(1_000)).execute(() => 'ok');
  if (value !== 'ok') throw new Error(`expected ok, got ${value}`);
  if (!(new BrokenCircuitError() instanceof ResilienceError)) throw new Error('error hierarchy');
  if ((await widened) !== 42 || (await asyncResult) !== 1 || (await syncResult) !== 'text') throw new Error('results');
  console.log('published types: ok at run time');
})();
