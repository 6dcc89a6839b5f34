// For an application that already has a prom-client registry: a small
// adapter from the meter shape instrument() asks for (createCounter,
// createHistogram, createObservableGauge) onto prom-client's metrics. The
// names come out as OpenTelemetry's Prometheus exporter writes them
// (breakwater_events_total, breakwater_circuit_state …), so one dashboard
// serves both setups.
import { createServer } from 'node:http';
import { Counter, Gauge, Histogram } from 'prom-client';

/** The attributes instrument() sets; prom-client wants label names declared up front. */
const ATTRIBUTES = ['breakwater.name', 'breakwater.policy', 'breakwater.event', 'breakwater.outcome', 'breakwater.attempt'];
const promName = (name) => name.replace(/[^a-zA-Z0-9_:]/g, '_');
const LABEL_NAMES = ATTRIBUTES.map(promName);

/** OpenTelemetry attributes as prom-client labels (any attribute it does not know is left out). */
function labels(attributes = {}) {
  const out = {};
  for (const key of ATTRIBUTES) if (attributes[key] !== undefined) out[promName(key)] = attributes[key];
  return out;
}

/** One meter per registry: prom-client refuses a second metric of the same name. */
const meters = new WeakMap();

/**
 * A meter for `instrument(policy, { meter })` whose instruments live in
 * `registry` (prom-client's default `register`, or one of your own). The same
 * registry always gets the same meter, so every pipeline can ask for it.
 * @param {import('prom-client').Registry} registry
 * @returns {import('breakwater').InstrumentMeter}
 */
export function promClientMeter(registry) {
  let meter = meters.get(registry);
  if (meter === undefined) meters.set(registry, (meter = createMeter(registry)));
  return meter;
}

/**
 * @param {import('prom-client').Registry} registry
 * @returns {import('breakwater').InstrumentMeter}
 */
function createMeter(registry) {
  const config = (name, options, suffix = '') => ({
    name: promName(name) + suffix,
    help: options?.description ?? name,
    labelNames: LABEL_NAMES,
    registers: [registry],
  });
  return {
    createCounter(name, options) {
      const counter = new Counter(config(name, options, '_total'));
      return { add: (value, attributes) => counter.inc(labels(attributes), value) };
    },
    createHistogram(name, options) {
      const buckets = options?.advice?.explicitBucketBoundaries;
      const histogram = new Histogram({ ...config(name, options), ...(buckets ? { buckets } : {}) });
      return { record: (value, attributes) => histogram.observe(labels(attributes), value) };
    },
    createObservableGauge(name, options) {
      /** @type {Set<(result: import('breakwater').InstrumentObservableResult) => void>} */
      const callbacks = new Set();
      new Gauge({
        ...config(name, options),
        // prom-client calls collect() on every scrape: the gauge is read then, never in between.
        collect() {
          this.reset(); // a detached policy's series goes away
          const result = { observe: (value, attributes) => this.set(labels(attributes), value) };
          for (const callback of callbacks) callback(result);
        },
      });
      return { addCallback: (callback) => void callbacks.add(callback), removeCallback: (callback) => void callbacks.delete(callback) };
    },
  };
}

/** Serves `registry` on http://host:port/metrics, as an app with prom-client does. */
export async function servePromClient(registry, { port = 9465, host = '127.0.0.1' } = {}) {
  const server = createServer(async (req, res) => {
    if (req.url !== '/metrics') return res.writeHead(404).end('try /metrics\n');
    res.writeHead(200, { 'content-type': registry.contentType }).end(await registry.metrics());
  });
  await new Promise((resolve, reject) => server.once('error', reject).listen(port, host, () => resolve(undefined)));
  const { port: bound } = /** @type {import('node:net').AddressInfo} */ (server.address());
  return { url: `http://${host}:${bound}/metrics`, close: () => new Promise((resolve) => server.close(resolve)) };
}
