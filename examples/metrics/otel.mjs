// OpenTelemetry's SDK with its Prometheus exporter, and instrument(): what an
// application writes once at startup. The exporter serves /metrics itself;
// the gauges (circuit state, concurrency) are read when Prometheus scrapes.
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';

/**
 * Starts a MeterProvider whose reader is a Prometheus exporter serving
 * http://host:port/metrics. Returns its meter, for `instrument(policy, { meter })`.
 */
export async function startOpenTelemetry({ port = 9464, host = '127.0.0.1' } = {}) {
  const exporter = new PrometheusExporter({ port, host, preventServerStart: true });
  await exporter.startServer();
  const provider = new MeterProvider({ readers: [exporter] });
  return {
    meter: provider.getMeter('breakwater-example'),
    url: `http://${host}:${port}/metrics`,
    shutdown: () => provider.shutdown(), // also stops the exporter's server
  };
}
