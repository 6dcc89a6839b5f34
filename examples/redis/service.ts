// A small HTTP service whose every instance shares its resilience state with
// the others through Redis: GET / calls an upstream API through
//
//   retry (with a fleet RetryBudget) → fleet CircuitBreaker → fleet RateLimiter → fetch
//
// - the rate limiter enforces the upstream's quota for the whole fleet, not per instance;
// - the breaker opens for every instance when the upstream fails (and lets one trial through, fleet-wide);
// - the retry budget caps the fleet's retries, so instances cannot storm a sick upstream together.
// GET /state answers this instance's view of the circuit, and how many store outages it saw.
//
// The store is the only thing that knows about Redis: the service takes it ready-made
// (ioredis or node-redis, see clients.ts).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  BrokenCircuitError,
  CircuitBreaker,
  RateLimitedError,
  RetryBudget,
  RateLimiter,
  retryWithBackoff,
  wrap,
  type Store,
} from 'breakwater';

/** What a service instance is configured with; every instance of the fleet gets the same. */
export interface ServiceConfig {
  /** Upstream calls per `interval` for the whole fleet. */
  readonly limit: number;
  readonly interval: number;
  /** Consecutive upstream failures that open the circuit. */
  readonly failureThreshold: number;
  readonly openDuration: number;
  /** How often each instance's breaker syncs with the fleet, ms. */
  readonly syncInterval: number;
  /** Namespace of the shared keys (one fleet = one key). */
  readonly key: string;
}

/** A failure of the upstream (a 5xx) — what the retry retries and the breaker counts. */
export class UpstreamError extends Error {
  override name = 'UpstreamError';
  constructor(readonly status: number) {
    super(`upstream answered ${status}`);
  }
}

/** The upstream's failure, or a connection that failed: worth a retry, and the breaker's business. */
function isUpstreamFailure(error: unknown): boolean {
  return error instanceof UpstreamError || (error instanceof TypeError && /fetch failed/.test(error.message));
}

export interface Service {
  readonly url: string;
  readonly breaker: CircuitBreaker;
  close(): Promise<void>;
}

/** Starts one instance on a free loopback port. */
export async function startService(name: string, store: Store, upstream: string, config: ServiceConfig): Promise<Service> {
  const limiter = new RateLimiter({ limit: config.limit, interval: config.interval, store, key: `${config.key}:quota` });
  const breaker = new CircuitBreaker({
    failureThreshold: config.failureThreshold,
    openDuration: config.openDuration,
    syncInterval: config.syncInterval,
    handle: isUpstreamFailure, // a rate-limited call is no upstream failure
    store,
    key: `${config.key}:upstream`,
  });
  const budget = new RetryBudget({ ratio: 0.1, minRetriesPerSecond: 1, store, key: `${config.key}:upstream` });
  const retry = retryWithBackoff({ maxRetries: 2, initialDelay: 20, jitter: 'full', handle: isUpstreamFailure, budget });
  const pipeline = wrap(retry, breaker, limiter);
  // Redis trouble never fails a call (each policy carries on locally), but say so.
  let storeErrors = 0;
  let closing = false; // a sync after close() finds the client closed: that is no outage
  const storeError = ({ error }: { error: unknown }): void => {
    if (closing) return;
    storeErrors++;
    console.error(`${name}: store unavailable, running on local state: ${String(error)}`);
  };
  limiter.on('storeError', storeError);
  breaker.on('storeError', storeError);
  budget.on('storeError', storeError);

  const server: Server = createServer((req, res) => {
    const reply = (status: number, body: object, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify({ instance: name, ...body }));
    };
    if (req.url === '/state') return reply(200, { state: breaker.state, storeErrors });
    pipeline
      .execute(async ({ signal }) => {
        const r = await fetch(upstream, { signal });
        if (r.status >= 500) {
          await r.body?.cancel();
          throw new UpstreamError(r.status);
        }
        return r.json() as Promise<object>;
      })
      .then(
        (value) => reply(200, { value }),
        (error: unknown) => {
          if (error instanceof RateLimitedError) {
            reply(429, { error: 'rate limited' }, { 'retry-after': String(Math.ceil(error.retryAfter / 1000)) });
          } else if (error instanceof BrokenCircuitError) {
            reply(503, { error: 'circuit open', retryAfter: error.retryAfter });
          } else {
            reply(502, { error: String(error) });
          }
        },
      );
    req.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    breaker,
    close: () =>
      new Promise<void>((resolve) => {
        closing = true;
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
