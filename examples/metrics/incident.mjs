// Two downstream dependencies and a scripted incident, so the metrics it
// leaves are known to the unit (check.mjs asserts them exactly):
//
//   payments   wrap(fallback, bulkhead, retry, breaker, timeout) in front of a
//              downstream that answers as a script says, attempt by attempt;
//   inventory  wrap(bulkhead, breaker) in front of a downstream that holds every
//              call until it is released, so the bulkhead is full when scraped.
import { Bulkhead, CircuitBreaker, instrument, retryWithBackoff, withFallback, withTimeout, wrap } from 'breakwater';

/** The pipelines, built once per downstream, each with a `breakwater.name`. */
export function createPipelines() {
  return {
    payments: wrap(
      withFallback('cached answer'),
      new Bulkhead({ maxConcurrent: 8, maxQueue: 8 }),
      retryWithBackoff({ maxRetries: 2, initialDelay: 5, jitter: 'none' }),
      new CircuitBreaker({ failureThreshold: 5, openDuration: 600_000 }),
      withTimeout(50),
    ),
    inventory: wrap(new Bulkhead({ maxConcurrent: 4, maxQueue: 2 }), new CircuitBreaker()),
  };
}

/** Instruments every pipeline with every meter; returns a function that detaches them all. */
export function instrumentAll(pipelines, meters) {
  const detach = meters.flatMap((meter) => Object.entries(pipelines).map(([name, pipeline]) => instrument(pipeline, { meter, name })));
  return () => detach.forEach((off) => off());
}

/** A downstream that does, attempt after attempt, what `script` says: 'ok', 'fail' or 'hang' (until aborted). */
function scripted(script) {
  let attempt = 0;
  return ({ signal }) => {
    const step = script[attempt++] ?? 'fail';
    if (step === 'ok') return Promise.resolve('fresh answer');
    if (step === 'fail') return Promise.reject(new Error('503 Service Unavailable'));
    return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
  };
}

/**
 * The incident on payments, call by call (the retry sits outside the breaker,
 * so each attempt passes the breaker and the timeout):
 *
 *   1. fail, fail, ok         2 retries, then success
 *   2. hang, hang, hang       3 timeouts, 2 retries, give up (maxRetries); fallback
 *   3. fail, fail, (open)     2 retries; the 5th failure in a row opens the circuit,
 *                             the 3rd attempt is rejected, not retried; fallback
 *   4. (open)                 rejected at once; fallback
 *
 * and on inventory: 7 calls into a bulkhead of 4 running + 2 queued, so one is
 * rejected; the 6 admitted ones wait until `release()`.
 */
export async function runIncident({ payments, inventory }) {
  const downstream = scripted(['fail', 'fail', 'ok', 'hang', 'hang', 'hang', 'fail', 'fail']);
  const answers = [];
  for (let call = 0; call < 4; call++) answers.push(await payments.execute(downstream));

  let release;
  const held = new Promise((resolve) => (release = resolve));
  const calls = Array.from({ length: 7 }, () => inventory.execute(() => held).catch((error) => error.name));
  return {
    answers,
    /** Lets the inventory calls finish; resolves with what each got. */
    release() {
      release('in stock');
      return Promise.all(calls);
    },
  };
}

/** What the incident leaves, per pipeline: every metric as the Prometheus exporter names it. */
export const EXPECTED = {
  // The circuit is open after the incident; payments' bulkhead is idle; inventory's is full.
  gauges: [
    ['breakwater_circuit_state', { breakwater_name: 'payments', breakwater_policy: 'circuit-breaker' }, 2],
    ['breakwater_circuit_state', { breakwater_name: 'inventory', breakwater_policy: 'circuit-breaker' }, 0],
    ['breakwater_concurrency_active', { breakwater_name: 'payments', breakwater_policy: 'bulkhead' }, 0],
    ['breakwater_concurrency_queued', { breakwater_name: 'payments', breakwater_policy: 'bulkhead' }, 0],
    ['breakwater_concurrency_limit', { breakwater_name: 'payments', breakwater_policy: 'bulkhead' }, 8],
    ['breakwater_concurrency_active', { breakwater_name: 'inventory', breakwater_policy: 'bulkhead' }, 4],
    ['breakwater_concurrency_queued', { breakwater_name: 'inventory', breakwater_policy: 'bulkhead' }, 2],
    ['breakwater_concurrency_limit', { breakwater_name: 'inventory', breakwater_policy: 'bulkhead' }, 4],
  ],
  events: {
    payments: {
      'retry/retry': 6,
      'retry/success': 1,
      'retry/giveUp': 1,
      'circuit-breaker/success': 1,
      'circuit-breaker/failure': 7,
      'circuit-breaker/open': 1,
      'circuit-breaker/stateChange': 1,
      'circuit-breaker/rejected': 2,
      'timeout/timeout': 3,
      'fallback/fallback': 3,
      'bulkhead/admitted': 4,
    },
    // 4 of the 7 calls got a slot at once; 2 wait in the queue, 1 was rejected.
    inventory: { 'bulkhead/admitted': 4, 'bulkhead/rejected': 1 },
  },
  // breakwater.call.duration: calls each breaker admitted, by outcome.
  durations: [
    [{ breakwater_name: 'payments', breakwater_outcome: 'success' }, 1],
    [{ breakwater_name: 'payments', breakwater_outcome: 'failure' }, 7],
  ],
  // Other histograms, [metric, labels, count, least sum in s, most sum in s]:
  histograms: [
    // breakwater.retry.duration: call 1 succeeded after delays of 5 and 10 ms; call 2 gave up after
    // three 50 ms timeouts and those delays (calls 3 and 4 ended on the open circuit: no event).
    ['breakwater_retry_duration', { breakwater_name: 'payments', breakwater_outcome: 'success' }, 1, 0.014, 10],
    ['breakwater_retry_duration', { breakwater_name: 'payments', breakwater_outcome: 'failure' }, 1, 0.16, 10],
    // breakwater.queue.duration: every call so far got its slot at once.
    ['breakwater_queue_duration', { breakwater_name: 'payments', breakwater_policy: 'bulkhead' }, 4, 0, 0],
    ['breakwater_queue_duration', { breakwater_name: 'inventory', breakwater_policy: 'bulkhead' }, 4, 0, 0],
  ],
};
