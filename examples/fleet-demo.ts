// Three instances of one service — A, B and C — share a rate limit and a
// circuit breaker through a store: a redis-server when one is installed (this
// demo starts it on a free loopback port and stops it; each instance gets its
// own connection, as separate processes would), createMemoryStore() otherwise.
// Every decision is printed as it happens. Run it with `npm run demo:fleet`;
// it exits by itself. (REDIS_SERVER=/path/to/redis-server picks the binary;
// REDIS_SERVER=none forces the memory store.)
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  BrokenCircuitError,
  CircuitBreaker,
  RateLimitedError,
  RateLimiter,
  createMemoryStore,
  createRedisStore,
  type Store,
} from '../src/index.js';
import { startRedisServer, redisServerVersion, type LocalRedis } from './fleet/redis-server.js';
import { connect, type RespClient } from './fleet/resp.js';

const QUOTA = { limit: 5, interval: 5_000 }; // the quotes API's quota, for the whole fleet
const BREAKER = { failureThreshold: 3, openDuration: 2_000, syncInterval: 200 };

const started = performance.now();
const log = (line: string): void => console.log(`${String(Math.round(performance.now() - started)).padStart(5)} ms  ${line}`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Waits until `done()` holds, checking every 20 ms, for at most `ms` (5 syncs by default). */
async function until(done: () => boolean, ms = 5 * BREAKER.syncInterval): Promise<void> {
  for (const end = performance.now() + ms; !done() && performance.now() < end; ) await sleep(20);
}

// --- the dependencies: a quotes API with a quota, and a payments service that breaks ---
let paymentsMode: 'up' | 'down' | 'slow' = 'up';
const upstreamCalls = { quotes: 0, payments: { A: 0, B: 0, C: 0 } as Record<string, number> };
const upstream = createServer((req: IncomingMessage, res: ServerResponse) => {
  const reply = (status: number) => res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
  const [, path, caller = ''] = (req.url ?? '').split('/');
  if (path === 'quote') {
    upstreamCalls.quotes++;
    return reply(200);
  }
  upstreamCalls.payments[caller] = (upstreamCalls.payments[caller] ?? 0) + 1;
  if (paymentsMode === 'down') return reply(503);
  if (paymentsMode === 'slow') return void setTimeout(() => reply(200), 250);
  reply(200);
});
await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;

// --- the store: Redis when it is installed, memory otherwise ---
let redis: LocalRedis | undefined;
let whyMemory = 'redis-server is not installed (apt-get install redis-server, or brew install redis, to run this through Redis)';
if (process.env.REDIS_SERVER === 'none') whyMemory = 'REDIS_SERVER=none asked for it';
else if (redisServerVersion() !== undefined) {
  try {
    redis = await startRedisServer();
  } catch (error) {
    whyMemory = `redis-server would not start: ${(error as Error).message}`;
  }
}
const connections: RespClient[] = [];
const memory = redis ? undefined : createMemoryStore();
function storeForInstance(): Store {
  if (!redis) return memory!; // one memory store shared by all three: the same semantics in one process
  const connection = connect(redis.port);
  connections.push(connection);
  // timeout: a loopback Redis answers in well under a millisecond, but a busy laptop (or CI) may stall
  // this process longer than the default 50 ms, which the store would take for an outage.
  return createRedisStore({ send: (command, args) => connection.send(command, args), timeout: 250 });
}
console.log('breakwater fleet demo: three instances (A, B, C) of one service share a rate limit and a circuit breaker');
if (redis) console.log(`store: Redis — redis-server ${redis.version} on 127.0.0.1:${redis.port}, started for this demo; each instance has its own connection`);
else console.log(`store: createMemoryStore() — ${whyMemory}`);

// --- one instance of the service ---
class HttpError extends Error {
  override name = 'HttpError';
}
const detach: (() => void)[] = [];

function startInstance(name: 'A' | 'B' | 'C') {
  const store = storeForInstance();
  const limiter = new RateLimiter({ ...QUOTA, store, key: 'quotes-api' });
  const breaker = new CircuitBreaker({ ...BREAKER, store, key: 'payments' });
  const say = (line: string): void => log(`${name}  ${line}`);
  let paying = false; // whether a state change came from this instance's own call
  const why = (to: string): string => {
    if (to === 'half-open') return ' (openDuration is over)';
    return paying ? '' : " (the fleet's state, seen at this instance's sync)";
  };
  detach.push(
    breaker.on('stateChange', ({ from, to }) => say(`circuit ${from} -> ${to}${why(to)}`)),
    limiter.on('storeError', ({ error }) => say(`store unavailable (${String(error)}): on local state`)),
    breaker.on('storeError', ({ error }) => say(`store unavailable (${String(error)}): on local state`)),
  );
  return {
    name,
    breaker,
    async quote(): Promise<boolean> {
      try {
        await limiter.execute(async ({ signal }) => {
          const res = await fetch(`${base}/quote/${name}`, { signal });
          await res.body?.cancel();
        });
        say(`quote: admitted (quotes API calls from the fleet so far: ${upstreamCalls.quotes})`);
        return true;
      } catch (error) {
        if (!(error instanceof RateLimitedError)) throw error;
        say(`quote: rate limited — the fleet has used its ${QUOTA.limit}; the store says the next token is due in ${Math.round(error.retryAfter)} ms`);
        return false;
      }
    },
    async pay(): Promise<void> {
      const was = breaker.state;
      paying = true;
      try {
        await breaker.execute(async ({ signal }) => {
          const res = await fetch(`${base}/pay/${name}`, { signal });
          await res.body?.cancel();
          if (!res.ok) throw new HttpError(`payments answered ${res.status}`);
        });
        say(was === 'half-open' ? "pay: ok — this was the fleet's one trial call, and it succeeded" : 'pay: ok');
      } catch (error) {
        if (error instanceof HttpError) return say(`pay: failed (${error.message})`);
        if (!(error instanceof BrokenCircuitError)) throw error;
        if (was === 'half-open') say('pay: rejected at once — the fleet lets one trial through, and another instance has it');
        else say(`pay: rejected at once — the circuit is open (trial in ${Math.round(error.retryAfter)} ms); payments not called`);
      } finally {
        paying = false;
      }
    },
  };
}
const fleet = [startInstance('A'), startInstance('B'), startInstance('C')];
const [A, B, C] = fleet as [ReturnType<typeof startInstance>, ReturnType<typeof startInstance>, ReturnType<typeof startInstance>];

// --- 1. the limit is the fleet's ---
console.log(`\n--- 1. one rate limit for the fleet: the quotes API allows ${QUOTA.limit} calls per ${QUOTA.interval / 1000} s, for all instances together`);
let admitted = 0;
let limited = 0;
for (let round = 0; round < 3; round++) {
  for (const instance of fleet) {
    if (await instance.quote()) admitted++;
    else limited++;
  }
}
log(`${admitted} admitted, ${limited} rate limited: alone each instance would have allowed ${QUOTA.limit}, together they got ${QUOTA.limit}, not ${3 * QUOTA.limit}`);
await sleep(QUOTA.interval / QUOTA.limit); // one token's worth of time
log(`after ${QUOTA.interval / QUOTA.limit} ms one token is back, for whoever asks first:`);
await C.quote();
await B.quote();
log(`the quotes API was called ${upstreamCalls.quotes} times in all`);

// --- 2. one instance's failures open the circuit for all ---
console.log(`\n--- 2. one circuit for the fleet: opens after ${BREAKER.failureThreshold} failures in a row; instances sync every ${BREAKER.syncInterval} ms`);
for (const instance of fleet) await instance.pay();
log('payments goes down; A is the instance taking payments right now');
paymentsMode = 'down';
for (let i = 0; i < BREAKER.failureThreshold; i++) await A.pay();
await until(() => B.breaker.state === 'open' && C.breaker.state === 'open');
log('B and C never saw a failure; now they take payments:');
const before = { ...upstreamCalls.payments };
await B.pay();
await C.pay();
const calledAnyway = upstreamCalls.payments.B! - before.B! + (upstreamCalls.payments.C! - before.C!);
log(`B and C called payments ${calledAnyway} times after A's failures opened the circuit`);

// --- 3. the trial that closes it ---
console.log(`\n--- 3. the trial that closes it: payments is back; after openDuration (${BREAKER.openDuration} ms) the fleet lets one trial call through`);
paymentsMode = 'slow';
await until(() => fleet.every((instance) => instance.breaker.state === 'half-open'), BREAKER.openDuration + 1_000);
log('all three take a payment at once:');
await Promise.all(fleet.map((instance) => instance.pay()));
await until(() => fleet.every((instance) => instance.breaker.state === 'closed'));
log(`circuit: A ${A.breaker.state}, B ${B.breaker.state}, C ${C.breaker.state}`);
paymentsMode = 'up';
for (const instance of fleet) await instance.pay();

// --- done: close everything; nothing of breakwater's keeps the process alive ---
for (const off of detach) off();
for (const connection of connections) connection.close();
await redis?.stop();
upstream.closeAllConnections();
upstream.close();
console.log(`\ndone${redis ? ' (redis-server stopped)' : ''}`);
setTimeout(() => {
  console.log('something is still keeping the process alive 3 s after the demo ended: that is a bug');
  process.exit(1);
}, 3_000).unref();
