// `npm start`: a pipeline under synthetic traffic, instrumented twice: with
// OpenTelemetry (its Prometheus exporter on http://127.0.0.1:9464/metrics) and
// with a prom-client registry (http://127.0.0.1:9465/metrics). The downstream
// is simulated with chaos: a little flaky and slow always, and down for one
// second out of every three, so the breaker opens, half-opens and closes.
import { Registry } from 'prom-client';
import { Bulkhead, chaos, CircuitBreaker, instrument, retryWithBackoff, withFallback, withTimeout, wrap } from 'breakwater';
import { startOpenTelemetry } from './otel.mjs';
import { promClientMeter, servePromClient } from './prom-client.mjs';

const started = performance.now();
const pipeline = wrap(
  withFallback('cached answer'),
  new Bulkhead({ maxConcurrent: 16, maxQueue: 16 }),
  retryWithBackoff({ maxRetries: 2, initialDelay: 20 }),
  new CircuitBreaker({ failureRateThreshold: 0.5, minimumCalls: 20, windowDuration: 1_000, openDuration: 250 }),
  withTimeout(100),
  chaos({ error: () => new Error('503 Service Unavailable'), enabled: () => (performance.now() - started) % 3_000 >= 2_000 }),
  chaos({ faultRate: 0.1, latency: [2, 160], seed: 2024 }),
);

const otel = await startOpenTelemetry({ port: Number(process.env.PORT ?? 9464) });
const registry = new Registry();
const prom = await servePromClient(registry, { port: Number(process.env.PROM_PORT ?? 9465) });
instrument(pipeline, { meter: otel.meter, name: 'downstream' });
instrument(pipeline, { meter: promClientMeter(registry), name: 'downstream' });

// Open-loop traffic: 100 calls a second, whatever the answers do.
const traffic = setInterval(() => void pipeline.execute(() => 'fresh answer'), 10);
console.log(`OpenTelemetry: ${otel.url}\nprom-client:   ${prom.url}\n(Ctrl-C to stop)`);
process.once('SIGINT', async () => {
  clearInterval(traffic);
  await Promise.all([prom.close(), otel.shutdown()]);
  process.exit(0);
});
