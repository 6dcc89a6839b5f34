// CI check (.ci/steps/60-metrics.sh): runs the scripted incident of
// incident.mjs with instrument() attached to two meters, OpenTelemetry's (its
// Prometheus exporter serving /metrics) and a prom-client registry's (through
// the adapter in prom-client.mjs), scrapes both endpoints over HTTP and asserts
// every value the incident leaves: breaker state, retry, timeout and fallback
// counters, bulkhead gauges with calls running and queued at scrape time, call
// durations, retry durations and bulkhead queue waits. Then it lets the held calls finish and scrapes again (the
// gauges are read at collection time), and detaches (no more counting).
import { createServer } from 'node:net';
import { Registry } from 'prom-client';
import { createPipelines, EXPECTED, instrumentAll, runIncident } from './incident.mjs';
import { startOpenTelemetry } from './otel.mjs';
import { promClientMeter, servePromClient } from './prom-client.mjs';

const failures = [];
const expect = (ok, what) => {
  if (!ok) failures.push(what);
};

/** A port nobody listens on now (the exporter takes a port number, not 0). */
const freePort = () =>
  new Promise((resolve, reject) => {
    const probe = createServer().once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });

/** GETs a /metrics endpoint and parses the text format into samples { name, labels, value }. */
async function scrape(url) {
  const res = await fetch(url);
  const text = await res.text();
  expect(res.status === 200, `GET ${url} answered ${res.status}`);
  expect(/^text\/plain/.test(res.headers.get('content-type') ?? ''), `${url}: content-type ${res.headers.get('content-type')}`);
  const samples = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/.exec(line);
    if (m === null) {
      failures.push(`${url}: malformed line: ${line}`);
      continue;
    }
    const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return { text, samples };
}

/** The value of the one sample of `name` whose labels include `labels`. */
function value({ samples }, name, labels, where) {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length !== 1) {
    failures.push(`${where}: ${found.length} samples of ${name}${JSON.stringify(labels)}, expected 1`);
    return undefined;
  }
  return found[0].value;
}

function expectEvents(scraped, where, events) {
  for (const [name, counts] of Object.entries(events)) {
    for (const [key, count] of Object.entries(counts)) {
      const [policy, event] = key.split('/');
      const labels = { breakwater_name: name, breakwater_policy: policy, breakwater_event: event };
      const got = value(scraped, 'breakwater_events_total', labels, where);
      expect(got === count, `${where}: breakwater_events_total${JSON.stringify(labels)} = ${got}, expected ${count}`);
    }
  }
}

/** A histogram's _count exactly, its _sum (seconds) within [least, most], and its +Inf bucket holding every point. */
function expectHistogram(scraped, where, [name, labels, count, least, most]) {
  const got = value(scraped, `${name}_count`, labels, where);
  expect(got === count, `${where}: ${name}_count${JSON.stringify(labels)} = ${got}, expected ${count}`);
  const sum = value(scraped, `${name}_sum`, labels, where);
  expect(sum >= least && sum <= most, `${where}: ${name}_sum${JSON.stringify(labels)} = ${sum} s, expected in [${least}, ${most}]`);
  const inf = value(scraped, `${name}_bucket`, { ...labels, le: '+Inf' }, where);
  expect(inf === count, `${where}: the +Inf bucket of ${name}${JSON.stringify(labels)} holds ${inf}, expected ${count}`);
}

function expectAll(scraped, where) {
  for (const [name, labels, want] of EXPECTED.gauges) {
    const got = value(scraped, name, labels, where);
    expect(got === want, `${where}: ${name}${JSON.stringify(labels)} = ${got}, expected ${want}`);
  }
  expectEvents(scraped, where, EXPECTED.events);
  // No event the script did not cause: every breakwater_events_total series is one of the expected ones.
  const counted = scraped.samples.filter((s) => s.name === 'breakwater_events_total');
  const expected = Object.values(EXPECTED.events).reduce((n, counts) => n + Object.keys(counts).length, 0);
  expect(counted.length === expected, `${where}: ${counted.length} breakwater_events_total series, expected ${expected}`);
  for (const [labels, count] of EXPECTED.durations) {
    const got = value(scraped, 'breakwater_call_duration_count', labels, where);
    expect(got === count, `${where}: breakwater_call_duration_count${JSON.stringify(labels)} = ${got}, expected ${count}`);
    const inf = value(scraped, 'breakwater_call_duration_bucket', { ...labels, le: '+Inf' }, where);
    expect(inf === count, `${where}: the +Inf bucket of ${JSON.stringify(labels)} holds ${inf}, expected ${count}`);
  }
  // Three of the failures are 50 ms timeouts: the sum is in seconds, about 0.15 or more (a timer may fire a hair early).
  const sum = value(scraped, 'breakwater_call_duration_sum', EXPECTED.durations[1][0], where);
  expect(sum >= 0.14 && sum < 60, `${where}: breakwater_call_duration_sum of failures = ${sum} s, expected >= 0.14 (three 50 ms timeouts)`);
  const buckets = scraped.samples.filter((s) => s.name === 'breakwater_call_duration_bucket' && s.labels.breakwater_outcome === 'failure' && s.labels.breakwater_name === 'payments');
  expect(buckets.some((b) => b.labels.le === '0.005') && buckets.some((b) => b.labels.le === '10'), `${where}: duration buckets in seconds (0.005 … 10), got ${buckets.map((b) => b.labels.le)}`);
  for (const histogram of EXPECTED.histograms) expectHistogram(scraped, where, histogram);
  // A queue wait's first bucket is 0: the calls that did not wait at all.
  const zero = value(scraped, 'breakwater_queue_duration_bucket', { breakwater_name: 'payments', le: '0' }, where);
  expect(zero === 4, `${where}: breakwater_queue_duration_bucket{payments, le="0"} = ${zero}, expected 4`);
}

const otel = await startOpenTelemetry({ port: await freePort() });
const registry = new Registry();
const prom = await servePromClient(registry, { port: 0 });
const pipelines = createPipelines();
const detach = instrumentAll(pipelines, [otel.meter, promClientMeter(registry)]);

const incident = await runIncident(pipelines);
expect(
  JSON.stringify(incident.answers) === JSON.stringify(['fresh answer', 'cached answer', 'cached answer', 'cached answer']),
  `payments answered ${JSON.stringify(incident.answers)}`,
);

const first = { otel: await scrape(otel.url), prom: await scrape(prom.url) };
expectAll(first.otel, 'OpenTelemetry exporter');
expectAll(first.prom, 'prom-client');

// The held inventory calls finish: the gauges read the bulkhead afresh at the next scrape.
const outcomes = await incident.release();
expect(outcomes.filter((o) => o === 'in stock').length === 6 && outcomes.includes('BulkheadRejectedError'), `inventory calls ended ${outcomes}`);
for (const [where, url] of [['OpenTelemetry exporter', otel.url], ['prom-client', prom.url]]) {
  const after = await scrape(url);
  for (const gauge of ['breakwater_concurrency_active', 'breakwater_concurrency_queued']) {
    const got = value(after, gauge, { breakwater_name: 'inventory', breakwater_policy: 'bulkhead' }, `${where}, after release`);
    expect(got === 0, `${where}, after release: ${gauge}{inventory} = ${got}, expected 0`);
  }
  expectEvents(after, `${where}, after release`, { inventory: { 'circuit-breaker/success': 6, 'bulkhead/admitted': 6, 'bulkhead/rejected': 1 } });
  // The two queued calls got their slots when the held ones finished: they waited (more than 0 s).
  expectHistogram(after, `${where}, after release`, ['breakwater_queue_duration', { breakwater_name: 'inventory', breakwater_policy: 'bulkhead' }, 6, 1e-9, 60]);
}

// Detached: another rejected call is no longer counted.
detach();
detach();
await pipelines.payments.execute(() => 'fresh answer');
for (const [where, url] of [['OpenTelemetry exporter', otel.url], ['prom-client', prom.url]]) {
  expectEvents(await scrape(url), `${where}, after detach`, { payments: { 'circuit-breaker/rejected': 2, 'fallback/fallback': 3 } });
}

await prom.close();
await otel.shutdown();

console.log(`one scrape of ${otel.url} (OpenTelemetry's Prometheus exporter) after the incident, breakwater series:\n`);
console.log(
  first.otel.text
    .split('\n')
    .filter((l) => /^breakwater_/.test(l) && !/_bucket\{/.test(l))
    .map((l) => l.replace(/,?otel_scope_[a-z_]+="[^"]*"/g, '').replace('{,', '{'))
    .join('\n'),
);
if (failures.length > 0) {
  console.error(`\nmetrics check FAILED:\n- ${failures.join('\n- ')}`);
  process.exit(1);
}
console.log(`\nmetrics check: the incident's breaker state, retry, timeout and fallback counts, bulkhead gauges, call and retry durations and queue waits are exact on both the OpenTelemetry exporter and prom-client`);
