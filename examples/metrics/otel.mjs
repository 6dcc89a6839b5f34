// breakwater policy events as OpenTelemetry instruments. Only
// @opentelemetry/api is needed here; the application chooses the SDK and the
// exporter (OTLP, Prometheus, console …) as it does for its other metrics.
import {
  Bulkhead,
  ChaosPolicy,
  CircuitBreaker,
  FallbackPolicy,
  HedgePolicy,
  RateLimiter,
  RetryBudget,
  RetryPolicy,
  TimeoutPolicy,
} from 'breakwater';

const STATES = ['closed', 'open', 'half-open', 'isolated'];

// One set of instruments per meter, shared by every policy observed through it.
const byMeter = new WeakMap();
function instrumentsOf(meter) {
  let i = byMeter.get(meter);
  if (i !== undefined) return i;
  i = {
    breakerState: meter.createObservableGauge('breakwater.circuit_breaker.state', {
      description: 'Circuit breaker state: 1 for the current state (attribute "state"), 0 for the others.',
    }),
    breakerCalls: meter.createCounter('breakwater.circuit_breaker.calls', { description: 'Calls the breaker recorded, by outcome.' }),
    breakerDuration: meter.createHistogram('breakwater.circuit_breaker.call.duration', {
      description: 'Duration of calls through the breaker.',
      unit: 's',
    }),
    breakerRejections: meter.createCounter('breakwater.circuit_breaker.rejections', { description: 'Calls rejected without running.' }),
    bulkheadActive: meter.createObservableUpDownCounter('breakwater.bulkhead.active', { description: 'Calls running in the bulkhead.' }),
    bulkheadQueued: meter.createObservableUpDownCounter('breakwater.bulkhead.queued', { description: 'Calls waiting in the bulkhead queue.' }),
    bulkheadRejections: meter.createCounter('breakwater.bulkhead.rejections', { description: 'Calls the bulkhead turned away, by reason.' }),
    retries: meter.createCounter('breakwater.retry.attempts', { description: 'Retries scheduled after a failed attempt.' }),
    retryCalls: meter.createCounter('breakwater.retry.calls', { description: 'Calls through the retry policy, by how they ended.' }),
    timeouts: meter.createCounter('breakwater.timeouts', { description: 'Calls that passed their deadline.' }),
    hedges: meter.createCounter('breakwater.hedge.attempts', { description: 'Hedged attempts started.' }),
    fallbacks: meter.createCounter('breakwater.fallbacks', { description: 'Failures replaced by a fallback.' }),
    rateLimited: meter.createCounter('breakwater.rate_limiter.rejections', { description: 'Calls the rate limiter turned away.' }),
    chaos: meter.createCounter('breakwater.chaos.injections', { description: 'Faults, latency and results injected, by kind.' }),
    budgetAvailable: meter.createObservableGauge('breakwater.retry_budget.available', { description: 'Retries the budget would allow now.' }),
  };
  byMeter.set(meter, i);
  return i;
}

/**
 * Feeds `policy`'s events into OpenTelemetry instruments of `meter`, with the
 * attribute `breakwater.policy = name`. Returns a function that stops it.
 */
export function observeWithOpenTelemetry(meter, name, policy) {
  const i = instrumentsOf(meter);
  const a = { 'breakwater.policy': name };
  const offs = [];
  const on = (event, listener) => offs.push(policy.on(event, listener));
  const observe = (instrument, callback) => {
    instrument.addCallback(callback);
    offs.push(() => instrument.removeCallback(callback));
  };

  if (policy instanceof CircuitBreaker) {
    observe(i.breakerState, (result) => {
      const current = policy.state;
      for (const state of STATES) result.observe(current === state ? 1 : 0, { ...a, state });
    });
    on('success', ({ duration }) => {
      i.breakerCalls.add(1, { ...a, outcome: 'success' });
      if (duration >= 0) i.breakerDuration.record(duration / 1_000, { ...a, outcome: 'success' });
    });
    on('failure', ({ duration }) => {
      i.breakerCalls.add(1, { ...a, outcome: 'failure' });
      if (duration >= 0) i.breakerDuration.record(duration / 1_000, { ...a, outcome: 'failure' });
    });
    on('rejected', ({ state }) => i.breakerRejections.add(1, { ...a, state }));
  } else if (policy instanceof Bulkhead) {
    observe(i.bulkheadActive, (result) => result.observe(policy.active, a));
    observe(i.bulkheadQueued, (result) => result.observe(policy.queued, a));
    on('rejected', ({ reason }) => i.bulkheadRejections.add(1, { ...a, reason }));
  } else if (policy instanceof RetryPolicy) {
    on('retry', () => i.retries.add(1, a));
    on('success', ({ attempts }) => i.retryCalls.add(1, { ...a, outcome: attempts === 1 ? 'success_first_attempt' : 'success_after_retry' }));
    on('giveUp', ({ reason }) => i.retryCalls.add(1, { ...a, outcome: 'give_up', reason }));
  } else if (policy instanceof TimeoutPolicy) {
    on('timeout', () => i.timeouts.add(1, a));
  } else if (policy instanceof HedgePolicy) {
    on('hedge', () => i.hedges.add(1, a));
  } else if (policy instanceof FallbackPolicy) {
    on('fallback', () => i.fallbacks.add(1, a));
  } else if (policy instanceof RateLimiter) {
    on('rejected', () => i.rateLimited.add(1, a));
  } else if (policy instanceof ChaosPolicy) {
    for (const kind of ['fault', 'latency', 'result']) on(kind, () => i.chaos.add(1, { ...a, kind }));
  } else if (policy instanceof RetryBudget) {
    observe(i.budgetAvailable, (result) => result.observe(policy.stats().available, a));
  } else {
    throw new TypeError(`observeWithOpenTelemetry: not a breakwater policy: ${String(policy)}`);
  }
  return () => offs.splice(0).forEach((off) => off());
}
