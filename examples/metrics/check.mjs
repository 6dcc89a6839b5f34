// CI check: runs the example for a moment on a free local port, then asserts
// that /metrics serves well-formed Prometheus text with the expected metrics,
// and that the OpenTelemetry instruments recorded the same events.
import { MetricReader } from '@opentelemetry/sdk-metrics';
import { start } from './server.mjs';

/** A reader that only collects on demand (a real app uses an exporter's reader). */
class OnDemandReader extends MetricReader {
  async onForceFlush() {}
  async onShutdown() {}
}

const failures = [];
const expect = (ok, what) => {
  if (!ok) failures.push(what);
};

const reader = new OnDemandReader();
const app = await start({ port: 0, callsPerSecond: 200, readers: [reader] });
await new Promise((resolve) => setTimeout(resolve, 1_500));

const res = await fetch(app.url);
const text = await res.text();
expect(res.status === 200, `GET ${app.url} answered ${res.status}`);
expect(/^text\/plain; version=0\.0\.4/.test(res.headers.get('content-type') ?? ''), 'content-type is the text format 0.0.4');

// Every line is a comment or `name{labels} value`.
const sample = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? (-?[0-9.e+-]+|NaN|[+-]Inf)$/;
const bad = text.split('\n').filter((line) => line !== '' && !line.startsWith('# ') && !sample.test(line));
expect(bad.length === 0, `malformed lines: ${bad.slice(0, 3).join(' | ')}`);

const value = (series) => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};
const declared = (name, type) => text.includes(`# TYPE ${name} ${type}\n`);

for (const [name, type] of [
  ['circuit_breaker_state', 'gauge'],
  ['circuit_breaker_calls_total', 'counter'],
  ['circuit_breaker_call_duration_seconds', 'histogram'],
  ['circuit_breaker_rejections_total', 'counter'],
  ['retry_attempts_total', 'counter'],
  ['retry_calls_total', 'counter'],
  ['timeouts_total', 'counter'],
  ['bulkhead_active', 'gauge'],
  ['bulkhead_queued', 'gauge'],
  ['bulkhead_rejections_total', 'counter'],
  ['hedge_attempts_total', 'counter'],
  ['fallbacks_total', 'counter'],
  ['chaos_injections_total', 'counter'],
  ['retry_budget_available', 'gauge'],
]) {
  expect(declared(name, type), `${name} declared as a ${type}`);
}
const states = ['closed', 'open', 'half-open', 'isolated'].map((s) => value(`circuit_breaker_state{name="downstream",state="${s}"}`));
expect(states.every((v) => v === 0 || v === 1) && states.filter((v) => v === 1).length === 1, `exactly one breaker state is 1: ${states}`);
expect(value('bulkhead_active{name="downstream"}') >= 0, 'bulkhead_active has a sample');
expect(value('bulkhead_queued{name="downstream"}') >= 0, 'bulkhead_queued has a sample');
expect(value('retry_attempts_total{name="downstream"}') > 0, 'retries were counted');
expect(value('timeouts_total{name="downstream"}') > 0, 'timeouts were counted');
expect(value('hedge_attempts_total{name="downstream"}') > 0, 'hedges were counted');

// The same events through OpenTelemetry.
const { resourceMetrics } = await reader.collect();
const otel = new Map(resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).map((m) => [m.descriptor.name, m]));
for (const name of [
  'breakwater.circuit_breaker.state',
  'breakwater.circuit_breaker.calls',
  'breakwater.circuit_breaker.call.duration',
  'breakwater.bulkhead.active',
  'breakwater.bulkhead.queued',
  'breakwater.retry.attempts',
  'breakwater.timeouts',
  'breakwater.hedge.attempts',
]) {
  expect(otel.has(name) && otel.get(name).dataPoints.length > 0, `OpenTelemetry instrument ${name} has data points`);
}

await app.close();
const shown = text.split('\n').filter((l) => !l.startsWith('#') && /_total|_state|bulkhead_/.test(l) && !l.includes(' 0'));
console.log(shown.join('\n'));
if (failures.length > 0) {
  console.error(`\nmetrics check FAILED:\n- ${failures.join('\n- ')}`);
  process.exit(1);
}
console.log(`\nmetrics check: ${text.split('\n').length} lines of Prometheus text and ${otel.size} OpenTelemetry instruments look right`);
