// breakwater policy events as Prometheus metrics, with no dependency: a small
// registry that renders the Prometheus text exposition format (0.0.4), and
// `observe(name, policy)` that turns a policy's events into metrics.
//
// Counters and histograms are fed by events; gauges (breaker state, bulkhead
// saturation, retry budget) are read from the policies when Prometheus scrapes,
// so they are never stale and cost nothing between scrapes.
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
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Label values escaped as the text format wants: backslash, double quote, newline. */
const escape = (value) => String(value).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const labelText = (labels) => {
  const keys = Object.keys(labels);
  return keys.length === 0 ? '' : `{${keys.map((k) => `${k}="${escape(labels[k])}"`).join(',')}}`;
};
const number = (v) => (Number.isNaN(v) ? 'NaN' : v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : String(v));

/** One metric family: a name, help, type, and series keyed by their labels. */
class Family {
  constructor(name, help, type, buckets) {
    this.name = name;
    this.help = help;
    this.type = type;
    this.buckets = buckets;
    this.series = new Map(); // label text -> { labels, value } or a histogram's { labels, counts, sum, count }
    this.collectors = []; // for gauges read at scrape time: () => Array<[labels, value]>
  }

  inc(labels, by = 1) {
    const key = labelText(labels);
    const s = this.series.get(key);
    if (s === undefined) this.series.set(key, { labels, value: by });
    else s.value += by;
  }

  observe(labels, value) {
    const key = labelText(labels);
    let s = this.series.get(key);
    if (s === undefined) this.series.set(key, (s = { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 }));
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]) s.counts[i]++;
    s.sum += value;
    s.count++;
  }

  render() {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`];
    if (this.type === 'histogram') {
      for (const s of this.series.values()) {
        this.buckets.forEach((le, i) => lines.push(`${this.name}_bucket${labelText({ ...s.labels, le })} ${s.counts[i]}`));
        lines.push(`${this.name}_bucket${labelText({ ...s.labels, le: '+Inf' })} ${s.count}`);
        lines.push(`${this.name}_sum${labelText(s.labels)} ${number(s.sum)}`);
        lines.push(`${this.name}_count${labelText(s.labels)} ${s.count}`);
      }
    } else {
      for (const s of this.series.values()) lines.push(`${this.name}${labelText(s.labels)} ${number(s.value)}`);
      for (const collect of this.collectors) {
        for (const [labels, value] of collect()) lines.push(`${this.name}${labelText(labels)} ${number(value)}`);
      }
    }
    return lines.join('\n');
  }
}

/**
 * A registry of breakwater metrics. `observe(name, policy)` subscribes to a
 * policy's events (and reads its gauges at scrape time); `render()` returns the
 * text that a `/metrics` endpoint serves with {@link CONTENT_TYPE}.
 */
export class Metrics {
  #families = new Map();

  #family(name, help, type, buckets) {
    let family = this.#families.get(name);
    if (family === undefined) this.#families.set(name, (family = new Family(name, help, type, buckets)));
    return family;
  }

  /** Watches `policy` (any breakwater policy, or a RetryBudget) under the label `name="…"`. Returns an unsubscribe function. */
  observe(name, policy) {
    const offs = [];
    const on = (event, listener) => offs.push(policy.on(event, listener));
    const gauge = (metric, help, collect) => {
      const family = this.#family(metric, help, 'gauge');
      family.collectors.push(collect);
      offs.push(() => family.collectors.splice(family.collectors.indexOf(collect), 1));
    };
    const counter = (metric, help) => this.#family(metric, help, 'counter');
    const l = { name };

    if (policy instanceof CircuitBreaker) {
      gauge('circuit_breaker_state', 'Circuit breaker state: 1 for the current state, 0 for the others.', () =>
        STATES.map((state) => [{ ...l, state }, policy.state === state ? 1 : 0]),
      );
      const calls = counter('circuit_breaker_calls_total', 'Calls the breaker recorded, by outcome.');
      const durations = this.#family('circuit_breaker_call_duration_seconds', 'Duration of calls through the breaker.', 'histogram', DURATION_BUCKETS);
      const rejections = counter('circuit_breaker_rejections_total', 'Calls rejected without running, by the state that rejected them.');
      const transitions = counter('circuit_breaker_transitions_total', 'State changes.');
      on('success', ({ duration }) => {
        calls.inc({ ...l, outcome: 'success' });
        if (duration >= 0) durations.observe({ ...l, outcome: 'success' }, duration / 1_000);
      });
      on('failure', ({ duration }) => {
        calls.inc({ ...l, outcome: 'failure' });
        if (duration >= 0) durations.observe({ ...l, outcome: 'failure' }, duration / 1_000);
      });
      on('rejected', ({ state }) => rejections.inc({ ...l, state }));
      on('stateChange', ({ from, to }) => transitions.inc({ ...l, from, to }));
    } else if (policy instanceof Bulkhead) {
      gauge('bulkhead_active', 'Calls running in the bulkhead now.', () => [[l, policy.active]]);
      gauge('bulkhead_queued', 'Calls waiting in the bulkhead queue now.', () => [[l, policy.queued]]);
      gauge('bulkhead_max_concurrent', 'The bulkhead limit on calls running at once.', () => [[l, policy.maxConcurrent]]);
      gauge('bulkhead_max_queue', 'The bulkhead limit on waiting calls.', () => [[l, policy.maxQueue]]);
      const rejections = counter('bulkhead_rejections_total', 'Calls the bulkhead turned away, by reason.');
      on('rejected', ({ reason }) => rejections.inc({ ...l, reason }));
    } else if (policy instanceof RetryPolicy) {
      const retries = counter('retry_attempts_total', 'Retries scheduled after a failed attempt.');
      const calls = counter('retry_calls_total', 'Calls through the retry policy, by how they ended.');
      on('retry', () => retries.inc(l));
      on('success', ({ attempts }) => calls.inc({ ...l, outcome: attempts === 1 ? 'success_first_attempt' : 'success_after_retry' }));
      on('giveUp', ({ reason }) => calls.inc({ ...l, outcome: 'give_up', reason }));
    } else if (policy instanceof TimeoutPolicy) {
      const timeouts = counter('timeouts_total', 'Calls that passed their deadline.');
      on('timeout', () => timeouts.inc(l));
    } else if (policy instanceof HedgePolicy) {
      const hedges = counter('hedge_attempts_total', 'Hedged attempts started after a slow or failed one.');
      on('hedge', () => hedges.inc(l));
    } else if (policy instanceof FallbackPolicy) {
      const fallbacks = counter('fallbacks_total', 'Failures replaced by the fallback.');
      on('fallback', () => fallbacks.inc(l));
    } else if (policy instanceof RateLimiter) {
      gauge('rate_limiter_available', 'Tokens the rate limiter holds now.', () => [[l, policy.available]]);
      gauge('rate_limiter_queued', 'Calls waiting for a token now.', () => [[l, policy.queued]]);
      const rejections = counter('rate_limiter_rejections_total', 'Calls the rate limiter turned away.');
      on('rejected', () => rejections.inc(l));
    } else if (policy instanceof ChaosPolicy) {
      const injected = counter('chaos_injections_total', 'Faults, latency and results injected, by kind.');
      on('fault', () => injected.inc({ ...l, kind: 'fault' }));
      on('latency', () => injected.inc({ ...l, kind: 'latency' }));
      on('result', () => injected.inc({ ...l, kind: 'result' }));
    } else if (policy instanceof RetryBudget) {
      gauge('retry_budget_available', 'Retries the budget would allow now.', () => [[l, policy.stats().available]]);
      gauge('retry_budget_refused', 'Retries the budget refused in its window.', () => [[l, policy.stats().refused]]);
    } else {
      throw new TypeError(`observe: not a breakwater policy: ${String(policy)}`);
    }
    return () => offs.splice(0).forEach((off) => off());
  }

  /** The Prometheus text exposition of every metric. */
  render() {
    return `${[...this.#families.values()].map((f) => f.render()).join('\n')}\n`;
  }
}

/** The Content-Type of {@link Metrics.render}'s output. */
export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
