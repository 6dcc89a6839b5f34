// A pipeline under synthetic traffic, its metrics served for Prometheus on
// http://127.0.0.1:9464/metrics (PORT=… to change), and the same events fed
// into OpenTelemetry instruments. `npm start` runs it until Ctrl-C.
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { Bulkhead, chaos, CircuitBreaker, hedge, RetryBudget, retryWithBackoff, withFallback, withTimeout, wrap } from 'breakwater';
import { CONTENT_TYPE, Metrics } from './prometheus.mjs';
import { observeWithOpenTelemetry } from './otel.mjs';

/**
 * The policies of one downstream dependency, outermost first. The downstream
 * itself is simulated with chaos: always a little flaky and slow, and down
 * for one second out of every two, so the breaker opens and closes.
 */
export function createPipeline() {
  const started = performance.now();
  const budget = new RetryBudget({ ratio: 0.2 });
  const policies = {
    fallback: withFallback('cached answer'),
    bulkhead: new Bulkhead({ maxConcurrent: 16, maxQueue: 16 }),
    retry: retryWithBackoff({ maxRetries: 2, initialDelay: 20, budget }),
    breaker: new CircuitBreaker({ failureRateThreshold: 0.5, minimumCalls: 20, windowDuration: 1_000, openDuration: 250 }),
    hedge: hedge({ delay: 60, budget }),
    timeout: withTimeout(100),
    outage: chaos({ error: () => new Error('503 Service Unavailable'), enabled: () => (performance.now() - started) % 2_000 >= 1_000 }),
    flaky: chaos({ faultRate: 0.1, latency: [2, 160], seed: 2024 }),
  };
  return { pipeline: wrap(...Object.values(policies)), policies, budget };
}

/**
 * Starts traffic, the metrics endpoint and an OpenTelemetry MeterProvider.
 * `readers` are OpenTelemetry metric readers (an exporter's reader in a real app).
 */
export async function start({ port = 9464, host = '127.0.0.1', callsPerSecond = 100, readers = [] } = {}) {
  const { pipeline, policies, budget } = createPipeline();

  const metrics = new Metrics();
  const meterProvider = new MeterProvider({ readers });
  const meter = meterProvider.getMeter('breakwater-example');
  // Every policy of one dependency under the same name: its metrics carry name="downstream".
  for (const policy of [...Object.values(policies), budget]) {
    metrics.observe('downstream', policy);
    observeWithOpenTelemetry(meter, 'downstream', policy);
  }

  // Open-loop traffic: a call every 1000/callsPerSecond ms, whatever the answers do.
  const calls = new Set();
  const traffic = setInterval(() => {
    const call = pipeline.execute(() => 'fresh answer').catch(() => undefined);
    calls.add(call);
    call.finally(() => calls.delete(call));
  }, 1_000 / callsPerSecond);

  const server = createServer((req, res) => {
    if (req.url === '/metrics') res.writeHead(200, { 'content-type': CONTENT_TYPE }).end(metrics.render());
    else res.writeHead(404).end('try /metrics\n');
  });
  await new Promise((resolve, reject) => server.once('error', reject).listen(port, host, resolve));
  const { port: bound } = server.address();

  return {
    url: `http://${host}:${bound}/metrics`,
    meterProvider,
    async close() {
      clearInterval(traffic);
      await Promise.all(calls);
      await new Promise((resolve) => server.close(resolve));
      await meterProvider.shutdown();
    },
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const app = await start({ port: Number(process.env.PORT ?? 9464) });
  console.log(`serving ${app.url} (Ctrl-C to stop)`);
  process.once('SIGINT', () => app.close().then(() => process.exit(0)));
}
