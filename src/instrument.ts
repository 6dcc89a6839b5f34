import { AdaptiveLimiter } from './adaptive-limiter.js';
import { AdaptiveThrottle } from './adaptive-throttle.js';
import { Bulkhead } from './bulkhead.js';
import { ChaosPolicy } from './chaos.js';
import { CircuitBreaker } from './circuit-breaker.js';
import type { CircuitState } from './breaker/snapshot.js';
import type { Unsubscribe } from './events.js';
import { FallbackPolicy } from './fallback.js';
import { HedgePolicy } from './hedge.js';
import { describe, invalid, objectOptions, required } from './internal/validate.js';
import { PolicyBase, PolicyWrap, type Policy } from './policy.js';
import { RateLimiter } from './rate-limiter.js';
import { RetryPolicy } from './retry.js';
import { TimeoutPolicy } from './timeout.js';

const OWNER = 'instrument';

/** Attributes of a data point, as OpenTelemetry's `Attributes` takes them. */
export type InstrumentAttributes = Readonly<Record<string, string>>;

/**
 * What `instrument` passes when it creates an instrument: a subset of
 * OpenTelemetry's `MetricOptions`, for a meter of your own to read.
 */
export interface InstrumentCreateOptions {
  /**
   * What the instrument measures, in a sentence.
   * @default none
   */
  readonly description?: string;
  /**
   * UCUM unit: `'s'` for durations, `'{event}'` or `'{call}'` for counts.
   * @default none
   */
  readonly unit?: string;
  /**
   * A histogram's bucket boundaries, in its unit, which the SDK uses unless a View says otherwise.
   * @default none
   */
  readonly advice?: { readonly explicitBucketBoundaries?: number[] };
}

/** What an observable gauge's callback observes into (OpenTelemetry's `ObservableResult`). */
export interface InstrumentObservableResult {
  observe(value: number, attributes?: InstrumentAttributes): void;
}

/** An observable instrument: callbacks called at collection time (OpenTelemetry's `Observable`). */
export interface InstrumentObservable {
  addCallback(callback: (result: InstrumentObservableResult) => void): void;
  removeCallback(callback: (result: InstrumentObservableResult) => void): void;
}

/**
 * The part of an OpenTelemetry `Meter` that `instrument` uses, typed
 * structurally: a `Meter` from `@opentelemetry/api` fits as it is, and
 * breakwater depends on nothing. Anything else with these methods works too
 * (an adapter onto prom-client, a fake in tests).
 *
 * @example
 * ```ts
 * import { instrument, withTimeout, type InstrumentMeter } from 'breakwater';
 *
 * const meter: InstrumentMeter = {
 *   createCounter: () => ({ add: () => {} }),
 *   createHistogram: () => ({ record: () => {} }),
 *   createObservableGauge: () => ({ addCallback: () => {}, removeCallback: () => {} }),
 * };
 * instrument(withTimeout(1_000), { meter });
 * ```
 */
export interface InstrumentMeter {
  createCounter(name: string, options?: InstrumentCreateOptions): { add(value: number, attributes?: InstrumentAttributes): void };
  createHistogram(name: string, options?: InstrumentCreateOptions): { record(value: number, attributes?: InstrumentAttributes): void };
  createObservableGauge(name: string, options?: InstrumentCreateOptions): InstrumentObservable;
}

/** Options of {@link instrument}. */
export interface InstrumentOptions {
  /** Where the instruments are created: an OpenTelemetry `Meter` (`metrics.getMeter('my-service')`). */
  readonly meter: InstrumentMeter;
  /**
   * The `breakwater.name` attribute of every data point: which pipeline (one
   * per downstream dependency, say). Keep it low-cardinality.
   * @default 'default'
   */
  readonly name?: string;
}

type Histogram = ReturnType<InstrumentMeter['createHistogram']>;

type Instruments = {
  readonly events: ReturnType<InstrumentMeter['createCounter']>;
  readonly duration: Histogram;
  readonly queueDuration: Histogram;
  readonly retryDuration: Histogram;
  readonly state: InstrumentObservable;
  readonly active: InstrumentObservable;
  readonly queued: InstrumentObservable;
  readonly limit: InstrumentObservable;
};

/** A policy's kind (the `breakwater.policy` attribute) and its event names. */
type Kind = readonly [kind: string, events: string];

// Each class's event names, as it passes them to its Emitter: kept here, so
// the core policies carry nothing for metrics (instrument.test.ts checks that
// the two lists agree; a name the class does not know is skipped, see attach).
// instanceof, not a field: a field would be core bytes.
const kindOf = (policy: PolicyBase<object, unknown>): Kind | undefined =>
  policy instanceof RetryPolicy
    ? ['retry', 'retry giveUp success']
    : policy instanceof CircuitBreaker
      ? ['circuit-breaker', 'stateChange open halfOpen close rejected success failure storeError storeRecovered']
      : policy instanceof Bulkhead
        ? ['bulkhead', 'admitted rejected']
        : policy instanceof TimeoutPolicy
          ? ['timeout', 'timeout']
          : policy instanceof FallbackPolicy
            ? ['fallback', 'fallback']
            : policy instanceof RateLimiter
              ? ['rate-limiter', 'rejected storeError storeRecovered']
              : policy instanceof HedgePolicy
                ? ['hedge', 'hedge win']
                : policy instanceof AdaptiveLimiter
                  ? ['adaptive-limiter', 'admitted limitChange rejected']
                  : policy instanceof AdaptiveThrottle
                    ? ['adaptive-throttle', 'rejected']
                    : policy instanceof ChaosPolicy
                      ? ['chaos', 'latency fault result']
                      : undefined;

const STATES: Readonly<Record<CircuitState, number>> = { closed: 0, 'half-open': 1, open: 2, isolated: 3 };

/** Boundaries in seconds, from 5 ms to 10 s (OpenTelemetry's HTTP duration buckets). */
const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
// Written out, not spread from SECONDS: a spread at module level is code a bundler keeps in every bundle.
/** A queue wait: `0` first (the calls that did not wait at all), then 1 ms to 10 s. */
const QUEUE_SECONDS = [0, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
/** A retried call, delays included: up to a minute (the default maxDelay is 30 s). */
const RETRY_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30, 60];

// One set of instruments per meter, however many policies report through it.
const byMeter = new WeakMap<InstrumentMeter, Instruments>();

function instrumentsOf(meter: InstrumentMeter): Instruments {
  let i = byMeter.get(meter);
  if (i === undefined) {
    const gauge = (name: string, description: string, unit: string): InstrumentObservable => meter.createObservableGauge(name, { description, unit });
    i = {
      events: meter.createCounter('breakwater.events', { description: 'Events of breakwater policies, by event name.', unit: '{event}' }),
      duration: meter.createHistogram('breakwater.call.duration', {
        description: 'Duration of calls a circuit breaker admitted, as it saw them.',
        unit: 's',
        advice: { explicitBucketBoundaries: SECONDS },
      }),
      queueDuration: meter.createHistogram('breakwater.queue.duration', {
        description: 'Time calls waited for a slot in a bulkhead or adaptive limiter (0 when one was free).',
        unit: 's',
        advice: { explicitBucketBoundaries: QUEUE_SECONDS },
      }),
      retryDuration: meter.createHistogram('breakwater.retry.duration', {
        description: 'Time from the first attempt of a retried call until it succeeded or gave up, delays included.',
        unit: 's',
        advice: { explicitBucketBoundaries: RETRY_SECONDS },
      }),
      state: gauge('breakwater.circuit.state', 'Circuit state: 0 closed, 1 half-open, 2 open, 3 isolated.', '{state}'),
      active: gauge('breakwater.concurrency.active', 'Calls running in a bulkhead or adaptive limiter.', '{call}'),
      queued: gauge('breakwater.concurrency.queued', 'Calls waiting in a bulkhead, adaptive limiter or rate limiter.', '{call}'),
      limit: gauge('breakwater.concurrency.limit', 'Calls a bulkhead or adaptive limiter lets run at once.', '{call}'),
    };
    byMeter.set(meter, i);
  }
  return i;
}

/** What the listeners read of a payload: the durations (ms) some events carry, a hedge's winning attempt. */
type Payload = { readonly duration?: number; readonly elapsed?: number; readonly waited?: number; readonly attempt?: number };
type Subscribable = { on(event: string, listener: (payload: Payload) => void): Unsubscribe };

/**
 * Turns a policy's events and state into OpenTelemetry metrics: `policy` is a
 * built-in policy or a `wrap` (every built-in policy inside is instrumented;
 * your own policies are skipped). Every data point carries `breakwater.name`
 * and `breakwater.policy` (the policy's kind, e.g. `'circuit-breaker'`).
 *
 * - `breakwater.events` (counter): one per event, attribute `breakwater.event`.
 * - `breakwater.circuit.state` (observable gauge): 0 closed, 1 half-open, 2 open, 3 isolated.
 * - `breakwater.concurrency.active`, `.queued`, `.limit` (observable gauges):
 *   bulkheads and adaptive limiters; `queued` also for rate limiters.
 * - `breakwater.call.duration` (histogram, seconds): each call a circuit
 *   breaker admitted, attribute `breakwater.outcome` (`'success'`, `'failure'`).
 * - `breakwater.queue.duration` (histogram, seconds): how long each call a
 *   bulkhead or adaptive limiter admitted waited for its slot (0 when one was free).
 * - `breakwater.retry.duration` (histogram, seconds): each call a retry ended
 *   with `success` or `giveUp`, from its first attempt, delays included;
 *   attribute `breakwater.outcome` (`'success'`, `'failure'` for a give-up).
 *
 * A hedge's `win` events also carry `breakwater.attempt`, the winning attempt's
 * number (`'1'` for the first, `'2'` or more for a hedge).
 *
 * Gauges are read when the SDK collects; nothing runs in between. Call it
 * before traffic starts: a breaker, a retry or a queue times only calls that
 * began (or queued) while someone listened. A policy nobody instruments pays nothing.
 *
 * @returns a function that removes every listener and gauge callback (calling it twice is harmless).
 * @throws TypeError when `policy` is not a built-in policy or a wrap, or `meter` or `name` is invalid.
 *
 * @example
 * ```ts
 * import { instrument, wrap, retryWithBackoff, CircuitBreaker, withTimeout } from 'breakwater';
 * import { metrics } from '@opentelemetry/api';
 *
 * const payments = wrap(retryWithBackoff(), new CircuitBreaker(), withTimeout(2_000));
 * const detach = instrument(payments, { meter: metrics.getMeter('checkout'), name: 'payments' });
 * // later, when the pipeline is retired:
 * detach();
 * ```
 */
export function instrument(policy: Policy<unknown>, options: InstrumentOptions): () => void {
  const o = objectOptions<InstrumentOptions>(OWNER, options, 'meter name');
  const meter = o.meter;
  if (meter === undefined) required(OWNER, 'meter');
  for (const method of ['createCounter', 'createHistogram', 'createObservableGauge'] as const) {
    if (meter === null || typeof meter !== 'object' || typeof meter[method] !== 'function') invalid(OWNER, 'meter', `an object with ${method}()`, meter);
  }
  const name = o.name ?? 'default';
  if (typeof name !== 'string' || name === '') invalid(OWNER, 'name', 'a non-empty string', name);
  if (!(policy instanceof PolicyBase) || (!(policy instanceof PolicyWrap) && kindOf(policy) === undefined)) {
    throw new TypeError(`${OWNER}: policy must be a built-in policy or a wrap, got ${describe(policy)}`);
  }

  const i = instrumentsOf(meter);
  const offs: Array<() => void> = [];
  const policies = policy instanceof PolicyWrap ? policy.policies : [policy];
  for (const p of policies) {
    const kind = p instanceof PolicyBase ? kindOf(p) : undefined;
    if (kind !== undefined) offs.push(...attach(p as PolicyBase<object, unknown>, kind, name, i));
  }
  return () => {
    for (const off of offs.splice(0)) off();
  };
}

/** Subscribes to every event of one policy and registers its gauges; returns what undoes each. */
function attach(policy: PolicyBase<object, unknown>, [kind, events]: Kind, name: string, i: Instruments): Array<() => void> {
  // Attribute objects built once here: a listener allocates nothing per event.
  const base: InstrumentAttributes = Object.freeze({ 'breakwater.name': name, 'breakwater.policy': kind });
  const offs: Array<() => void> = [];
  const on = (policy as unknown as Subscribable).on.bind(policy);
  for (const event of events.split(' ')) {
    const attributes = Object.freeze({ ...base, 'breakwater.event': event });
    const outcome = (value: string): InstrumentAttributes => Object.freeze({ ...base, 'breakwater.outcome': value });
    let listener: (payload: Payload) => void;
    // A duration is absent for a call that began before anyone listened: counted, not timed.
    if (kind === 'circuit-breaker' && (event === 'success' || event === 'failure')) {
      const timed = outcome(event);
      listener = ({ duration }) => {
        i.events.add(1, attributes);
        if (duration !== undefined) i.duration.record(duration / 1_000, timed);
      };
    } else if (kind === 'retry' && (event === 'success' || event === 'giveUp')) {
      const timed = outcome(event === 'success' ? 'success' : 'failure');
      listener = ({ elapsed }) => {
        i.events.add(1, attributes);
        if (elapsed !== undefined) i.retryDuration.record(elapsed / 1_000, timed);
      };
    } else if (event === 'admitted') {
      listener = ({ waited }) => {
        i.events.add(1, attributes);
        if (waited !== undefined) i.queueDuration.record(waited / 1_000, base);
      };
    } else if (event === 'win') {
      // One attribute set per attempt number, made on first use: a race has at most maxHedges + 1.
      const byAttempt: InstrumentAttributes[] = [];
      listener = ({ attempt }) =>
        i.events.add(1, typeof attempt === 'number' ? (byAttempt[attempt] ??= Object.freeze({ ...attributes, 'breakwater.attempt': String(attempt) })) : attributes);
    } else {
      listener = () => i.events.add(1, attributes);
    }
    try {
      offs.push(on(event, listener));
    } catch {
      // An event this policy's build does not have (say, a breaker without the fleet events): nothing to count.
    }
  }
  const observe = (gauge: InstrumentObservable, read: () => number): void => {
    const callback = (result: InstrumentObservableResult): void => result.observe(read(), base);
    gauge.addCallback(callback);
    offs.push(() => gauge.removeCallback(callback));
  };
  if (policy instanceof CircuitBreaker) observe(i.state, () => STATES[policy.state]);
  if (policy instanceof Bulkhead || policy instanceof AdaptiveLimiter) {
    observe(i.active, () => policy.active);
    observe(i.limit, () => (policy instanceof Bulkhead ? policy.maxConcurrent : policy.limit));
  }
  if (policy instanceof Bulkhead || policy instanceof AdaptiveLimiter || policy instanceof RateLimiter) observe(i.queued, () => policy.queued);
  return offs;
}
