// A pipeline under synthetic traffic, its metrics served for Prometheus on
// http://127.0.0.1:9464/metrics (PORT=… to change), and the same events fed
// into OpenTelemetry instruments. `npm start` runs it until Ctrl-C.
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { Bulkhead, chaos, CircuitBreaker, hedge, RetryBudget, retryWithBackoff, withFallback, withTimeout, wrap } from 'breakwater';
import { CONTENT_TYPE, Metrics } from './prometheus.mjs';
import { observeWithOpenTelemetry } from './otel.mjs';

/** The policies of one downstream dependency, outermost first. */
export function createPipeline() {
  const budget = new RetryBudget({ ratio: 0.2 });
  const policies = {
    fallback: withFallback('cached answer'),
    retry: retryWithBackoff({ maxRetries: 2, initialDelay: 20, budget }),
    breaker: new CircuitBreaker({ failureRateThreshold: 0.5, minimumCalls: 20, windowDuration: 5_000, openDuration: 500 }),
    bulkhead: new Bulkhead({ maxConcurrent: 4, maxQueue: 4 }),
    hedge: hedge({ delay: 60, budget }),
    timeout: withTimeout(100),
    // The "downstream": chaos makes it slow and flaky, deterministically.
    chaos: chaos({ faultRate: 0.35, latency: [2, 160], seed: 2024 }),
  };
  const pipeline = wrap(policies.fallback, policies.retry, policies.breaker, policies.bulkhead, policies.hedge, policies.timeout, policies.chaos);
  return { pipeline, policies, budget };
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
