// A flaky HTTP server on loopback, and a client that survives it through one
// breakwater pipeline. Every retry, timeout and fallback is printed as it
// happens. Run it with `npm run demo`; it exits by itself.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CircuitBreaker, retryWithBackoff, withFallback, withTimeout, wrap } from '../src/index.js';

// --- the flaky server ------------------------------------------------------
// /flaky answers 503 twice, then 200; /slow hangs on every odd request;
// /down always answers 503.
const hits = new Map<string, number>();
const server = createServer((req: IncomingMessage, res: ServerResponse) => {
  const path = req.url ?? '/';
  const n = (hits.get(path) ?? 0) + 1;
  hits.set(path, n);
  const reply = (status: number, body: string): void => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(body);
  };
  if (path === '/flaky') return n <= 2 ? reply(503, '{"error":"busy"}') : reply(200, '{"answer":42}');
  if (path === '/slow') {
    if (n % 2 === 1) return; // hang: the client's timeout has to deal with it
    return reply(200, '{"answer":"late but fine"}');
  }
  return reply(503, '{"error":"down"}');
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

// --- the client ------------------------------------------------------------
const started = performance.now();
const log = (line: string): void => console.log(`${String(Math.round(performance.now() - started)).padStart(5)} ms  ${line}`);

class HttpError extends Error {
  override name = 'HttpError';
  constructor(readonly status: number) {
    super(`HTTP ${status}`);
  }
}

const fallback = withFallback({ answer: 'fallback: the service is down, here is a cached answer' });
const retry = retryWithBackoff({ maxRetries: 3, initialDelay: 50, jitter: 'none' });
// Opens after 4 failures in a row; after 300 ms it lets one trial call through.
const breaker = new CircuitBreaker({ failureThreshold: 4, openDuration: 300 });
const timeout = withTimeout(200); // inside the retry: bounds each attempt
const pipeline = wrap(fallback, retry, breaker, timeout);

retry.on('retry', ({ attempt, delay, error }) => log(`  attempt ${attempt} failed (${(error as Error).message}); retrying in ${delay} ms`));
retry.on('giveUp', ({ attempts }) => log(`  giving up after ${attempts} attempts`));
timeout.on('timeout', ({ timeout: ms }) => log(`  attempt timed out after ${ms} ms`));
fallback.on('fallback', ({ error }) => log(`  fallback answered (${(error as Error).name})`));
breaker.on('stateChange', ({ from, to }) => log(`  circuit ${from} -> ${to}`));

async function getJson(path: string): Promise<unknown> {
  return pipeline.execute(async ({ signal, attempt }) => {
    log(`  GET ${path} (attempt ${attempt})`);
    const res = await fetch(base + path, { signal });
    if (!res.ok) throw new HttpError(res.status);
    return res.json();
  });
}

for (const path of ['/flaky', '/slow', '/down', '/down', '/flaky']) {
  log(`request ${path} (circuit ${breaker.state})`);
  log(`-> ${JSON.stringify(await getJson(path))}`);
}
// The circuit is open: the retry does not retry a BrokenCircuitError, so the
// fallback answers at once. After openDuration a trial call closes it again.
await new Promise((resolve) => setTimeout(resolve, 300));
log(`request /flaky after the open wait (circuit ${breaker.state})`);
log(`-> ${JSON.stringify(await getJson('/flaky'))}`);

server.closeAllConnections();
server.close();
