// Bun's built-in Redis client as a breakwater store — the built package
// (dist/), no npm client:
//
//   const redis = new Bun.RedisClient(url);
//   const store = createRedisStore({ send: (command, args) => redis.send(command, args) });
//
//   REDIS_URL=redis://127.0.0.1:PORT bun examples/redis/bun.mjs
//
// Two "instances" (two clients, two stores, their own policies) share one
// server; asserted: the rate limit holds for both together, one breaker's
// opening reaches the other within syncInterval (which then rejects without
// calling fn), a retry budget runs on the store, a SCRIPT FLUSH mid-run fails
// no call, no policy ever saw a store error, and every key left has the
// prefix and an expiry. .ci/steps/20-runtimes.sh runs it against a
// redis-server of its own. Exits 1 if a check fails; exits by itself
// (a timer or socket left behind would hang it, and the step's timeout fails it).
import { BrokenCircuitError, CircuitBreaker, RateLimitedError, RateLimiter, RetryBudget, createRedisStore, retryWithBackoff } from '../../dist/index.js';

if (typeof Bun === 'undefined') throw new Error('run this with bun: it checks Bun.RedisClient');
const url = process.env.REDIS_URL;
if (!url) throw new Error('set REDIS_URL (redis://127.0.0.1:PORT)');
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

let failures = 0;
function check(ok, what, detail = '') {
  if (!ok) failures++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}${detail ? ` (${detail})` : ''}`);
}

// The server may still be starting: wait until it answers (Bun's client queues commands until connected).
const admin = new Bun.RedisClient(url);
for (let tries = 0; ; tries++) {
  try {
    if ((await admin.send('PING', [])) === 'PONG') break;
  } catch (error) {
    if (tries >= 100) throw error;
  }
  await sleep(100);
}

let storeErrors = 0;
function instance() {
  const redis = new Bun.RedisClient(url);
  // timeout 250 (default 50): a busy CI machine may stall this process longer than a loopback Redis takes.
  const store = createRedisStore({ send: (command, args) => redis.send(command, args), timeout: 250 });
  const limiter = new RateLimiter({ limit: 5, interval: 60_000, store, key: 'bun:quota' });
  const breaker = new CircuitBreaker({ failureThreshold: 2, openDuration: 10_000, syncInterval: 100, store, key: 'bun:upstream' });
  const budget = new RetryBudget({ ratio: 0.1, minRetriesPerSecond: 1, store, key: 'bun:upstream' });
  for (const policy of [limiter, breaker, budget]) policy.on('storeError', ({ error }) => (storeErrors++, console.log(`store error: ${error}`)));
  return { redis, limiter, breaker, budget };
}
const a = instance();
const b = instance();

try {
  // The rate limit, both instances together; a SCRIPT FLUSH (as after a restart or failover) halfway.
  let admitted = 0;
  let rejected = 0;
  let retryAfter = 0;
  for (let i = 0; i < 12; i++) {
    if (i === 3) await admin.send('SCRIPT', ['FLUSH']);
    try {
      await (i % 2 === 0 ? a : b).limiter.execute(() => admitted++);
    } catch (error) {
      if (!(error instanceof RateLimitedError)) throw error;
      rejected++;
      retryAfter = error.retryAfter;
    }
  }
  check(admitted === 5 && rejected === 7, 'two limiters on two Bun clients admit `limit` (5) together, across a SCRIPT FLUSH', `admitted ${admitted}, rejected ${rejected}`);
  check(retryAfter > 0 && retryAfter <= 60_000, "a rejection's retryAfter comes from the store", `${Math.round(retryAfter)} ms`);

  // The breaker: a's failures open it; b, after syncInterval, rejects without calling fn.
  await b.breaker.execute(() => 'warm'); // b is in use, as a live instance would be
  for (let i = 0; i < 2; i++) await a.breaker.execute(() => Promise.reject(new Error('upstream down'))).catch(() => {});
  check(a.breaker.state === 'open', "a's breaker opens on its failures", a.breaker.state);
  await sleep(100 + 300);
  let called = false;
  const outcome = await b.breaker.execute(() => (called = true)).then(
    () => 'ran',
    (error) => error,
  );
  check(outcome instanceof BrokenCircuitError && !called, "b rejects with BrokenCircuitError within syncInterval, without calling fn", `${outcome?.name ?? outcome}, state ${b.breaker.state}`);

  // The retry budget on the store: a retried call goes through its allowance.
  let attempts = 0;
  const retry = retryWithBackoff({ maxRetries: 1, initialDelay: 1, jitter: 'none', budget: a.budget });
  const value = await retry.execute(() => (++attempts === 1 ? Promise.reject(new Error('once')) : 'second'));
  check(value === 'second' && attempts === 2, 'a retry under a fleet RetryBudget', `${attempts} attempts`);
  await sleep(1_200); // let the budget sync once

  const keys = await admin.send('KEYS', ['*']);
  const ttls = await Promise.all(keys.map((key) => admin.send('PTTL', [key])));
  check(keys.length > 0 && keys.every((key) => key.startsWith('breakwater:')), "every key has the store's prefix", keys.join(' '));
  check(ttls.every((ttl) => Number(ttl) > 0), 'every key expires', ttls.join(' '));
  check(storeErrors === 0, 'no policy saw a store error (no check above passed on the local fallback)', `${storeErrors}`);
} catch (error) {
  failures++;
  console.log(`FAIL ${error?.stack ?? error}`);
} finally {
  for (const client of [a.redis, b.redis, admin]) client.close();
}
console.log(failures === 0 ? 'Bun.RedisClient: all checks passed' : `Bun.RedisClient: ${failures} check(s) failed`);
process.exitCode = failures === 0 ? 0 : 1;
