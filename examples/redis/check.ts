// The fleet through real clients: two instances of service.ts, one on ioredis
// and one on node-redis, each in its own process, share one redis-server this
// script starts (a free loopback port, nothing kept on disk) and stops.
// Asserted, over HTTP:
//   1. the rate limit is the fleet's: 20 calls alternating between the two
//      instances get exactly `limit` (10) upstream calls, 5 each; a concurrent
//      burst after that gets none;
//   2. the breaker is the fleet's: the ioredis instance's failures open it, and
//      within syncInterval the node-redis instance rejects without calling the
//      upstream;
//   3. half-open is the fleet's: with both instances calling at once, one trial
//      reaches the upstream, and its success closes the circuit for both;
//   4. every key left in Redis has the store's prefix and an expiry;
//   5. no instance ever saw a store error (so none of the above came from the
//      local fallback), and on SIGTERM each exits by itself (nothing keeps it alive).
// Exits 1 if any check fails. Run: npm ci && npm run check (needs redis-server).
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { startRedisServer } from '../fleet/redis-server.js';
import type { ClientName } from './clients.js';
import type { ServiceConfig } from './service.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const started = performance.now();
const log = (line: string): void => console.log(`${String(Math.round(performance.now() - started)).padStart(6)} ms  ${line}`);

let failures = 0;
function check(ok: boolean, what: string, detail = ''): void {
  if (!ok) failures++;
  log(`${ok ? 'ok  ' : 'FAIL'} ${what}${detail ? ` (${detail})` : ''}`);
}

// --- the upstream: counts its calls; healthy, failing (503) or slow --------
let mode: 'ok' | 'fail' | 'slow' = 'ok';
let upstreamCalls = 0;
const upstream: Server = createServer((_req, res) => {
  upstreamCalls++;
  const answer = (status: number) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ n: upstreamCalls }));
  if (mode === 'fail') return answer(503);
  if (mode === 'slow') return void setTimeout(() => answer(200), 300);
  answer(200);
});
await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;

const redis = await startRedisServer();
log(`redis-server ${redis.version} on ${redis.url}`);

// --- the instances ----------------------------------------------------------
interface Instance {
  readonly name: ClientName;
  readonly url: string;
  readonly child: ChildProcess;
}

const live = new Set<ChildProcess>();

async function spawnInstance(name: ClientName, config: ServiceConfig): Promise<Instance> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'instance.ts', name], {
    cwd: here,
    // A loopback Redis answers in well under a millisecond, but this runs on small, shared CI
    // machines: 250 ms (default 50) keeps a starved event loop from counting as a store outage.
    env: { ...process.env, REDIS_URL: redis.url, UPSTREAM_URL: upstreamUrl, CONFIG: JSON.stringify(config), STORE_TIMEOUT: '250' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  live.add(child);
  child.once('exit', () => live.delete(child));
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} instance did not start within 20 s`)), 20_000);
    child.once('exit', (code) => reject(new Error(`${name} instance exited with ${code} before it was ready`)));
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolve((JSON.parse(line) as { ready: string }).ready);
    });
  });
  lines.on('line', (line) => log(`  ${name}: ${line}`));
  return { name, url, child };
}

/** Asserts it never lost the store (a reply the store could not read would count as an outage, and hide behind the local fallback); SIGTERM; asserts it exits 0 within 5 s by itself. */
async function stopInstance(instance: Instance): Promise<void> {
  const { child } = instance;
  const { storeErrors } = (await get(instance, '/state')).body;
  check(storeErrors === 0, `${instance.name} never lost the store`, `${storeErrors} storeError events`);
  const code = await new Promise<number | string>((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve('still running after 5 s');
    }, 5_000);
    child.once('exit', (c, signal) => {
      clearTimeout(timer);
      resolve(c ?? String(signal));
    });
    child.kill('SIGTERM');
  });
  check(code === 0, `${instance.name} instance exits by itself on SIGTERM`, `exit ${code}`);
}

interface Answer {
  readonly status: number;
  readonly body: { instance: string; error?: string; state?: string; storeErrors?: number };
  readonly retryAfter: string | null;
}

async function get(instance: Instance, path = '/'): Promise<Answer> {
  const res = await fetch(instance.url + path);
  return { status: res.status, body: (await res.json()) as Answer['body'], retryAfter: res.headers.get('retry-after') };
}

const stateOf = async (instance: Instance): Promise<string | undefined> => (await get(instance, '/state')).body.state;

try {
  // --- 1. one rate limit for the fleet ---------------------------------------
  const limited: ServiceConfig = { limit: 10, interval: 60_000, failureThreshold: 5, openDuration: 5_000, syncInterval: 200, key: 'limit' };
  let [a, b] = await Promise.all([spawnInstance('ioredis', limited), spawnInstance('node-redis', limited)]);
  log(`1. rate limit ${limited.limit} per ${limited.interval / 1000} s, shared by ${a.name} and ${b.name}`);
  const admitted = { ioredis: 0, 'node-redis': 0 };
  let rejected = 0;
  let retryAfter: string | null = null;
  for (let i = 0; i < 20; i++) {
    const instance = i % 2 === 0 ? a : b;
    const answer = await get(instance);
    if (answer.status === 200) admitted[instance.name]++;
    else if (answer.status === 429) {
      rejected++;
      retryAfter ??= answer.retryAfter;
    }
  }
  check(upstreamCalls === limited.limit, 'the two instances together called the upstream exactly `limit` times', `${upstreamCalls} calls, limit ${limited.limit}`);
  check(admitted.ioredis === 5 && admitted['node-redis'] === 5, 'each got its turn: 5 and 5', `ioredis ${admitted.ioredis}, node-redis ${admitted['node-redis']}`);
  check(rejected === 10, 'the other 10 were rate limited (429)', `${rejected}`);
  check(retryAfter !== null && Number(retryAfter) > 0, 'a 429 says when to come back (Retry-After from the store)', `Retry-After: ${retryAfter}`);
  const burst = await Promise.all(Array.from({ length: 20 }, (_, i) => get(i % 2 === 0 ? a : b)));
  check(upstreamCalls === limited.limit && burst.every((r) => r.status === 429), 'a concurrent burst of 20 more gets no upstream call', `${upstreamCalls} calls`);
  await Promise.all([stopInstance(a), stopInstance(b)]);

  // --- 2. one circuit for the fleet ----------------------------------------
  const guarded: ServiceConfig = { limit: 1_000, interval: 1_000, failureThreshold: 3, openDuration: 1_500, syncInterval: 200, key: 'breaker' };
  [a, b] = await Promise.all([spawnInstance('ioredis', guarded), spawnInstance('node-redis', guarded)]);
  log(`2. breaker (${guarded.failureThreshold} failures in a row, open ${guarded.openDuration} ms, syncInterval ${guarded.syncInterval} ms) shared by ${a.name} and ${b.name}`);
  const warm = await Promise.all([a, b, a, b, a, b].map((instance) => get(instance)));
  check(warm.every((r) => r.status === 200), 'both serve while the upstream is healthy');
  mode = 'fail';
  let calls = upstreamCalls;
  let requests = 0;
  while (requests < 10 && (await get(a)).status !== 503) requests++;
  const openedAt = performance.now();
  check(
    requests < 10 && (await stateOf(a)) === 'open',
    `the upstream fails: ${a.name}'s circuit opens`,
    `${requests} requests failed (${upstreamCalls - calls} upstream calls, retries included), the next was rejected`,
  );
  await sleep(guarded.syncInterval + 300);
  check((await stateOf(b)) === 'open', `${b.name} reads 'open' within syncInterval + 300 ms`, `state ${await stateOf(b)}`);
  calls = upstreamCalls;
  const shed = await Promise.all([b, b, b].map((instance) => get(instance)));
  check(
    shed.every((r) => r.status === 503 && r.body.error === 'circuit open') && upstreamCalls === calls,
    `${b.name} rejects at once without calling the upstream`,
    `statuses ${shed.map((r) => r.status).join(' ')}, ${upstreamCalls - calls} upstream calls`,
  );

  // --- 3. one trial for the fleet, and it closes the circuit for both ------
  mode = 'slow';
  await sleep(Math.max(0, openedAt + guarded.openDuration - performance.now()));
  const halfOpen = async (): Promise<boolean> => (await stateOf(a)) === 'half-open' && (await stateOf(b)) === 'half-open';
  for (let t = 0; t < 25 && !(await halfOpen()); t++) await sleep(20);
  check(await halfOpen(), 'after openDuration both read half-open', `${Math.round(performance.now() - openedAt)} ms after the opening was answered`);
  calls = upstreamCalls;
  const trial = await Promise.all([a, b, a, b].map((instance) => get(instance)));
  const passed = trial.filter((r) => r.status === 200);
  check(
    upstreamCalls - calls === 1 && passed.length === 1,
    'four calls at once from both instances: exactly one trial reaches the upstream',
    `${upstreamCalls - calls} upstream calls; statuses ${trial.map((r) => r.status).join(' ')}`,
  );
  await sleep(guarded.syncInterval + 300);
  const [sa, sb] = [await stateOf(a), await stateOf(b)];
  check(sa === 'closed' && sb === 'closed', `the trial (by ${passed[0]?.body.instance}) closed the circuit for both`, `${a.name} ${sa}, ${b.name} ${sb}`);
  mode = 'ok';
  const after = await Promise.all([a, b].map((instance) => get(instance)));
  check(after.every((r) => r.status === 200), 'both serve again');
  await Promise.all([stopInstance(a), stopInstance(b)]);

  // --- 4. the keys left behind -------------------------------------------
  const inspect = new Redis(redis.url);
  const keys = await inspect.keys('*');
  const ttls = await Promise.all(keys.map((key) => inspect.pttl(key)));
  await inspect.quit();
  check(keys.length > 0 && keys.every((key) => key.startsWith('breakwater:')), "every key has the store's prefix", keys.join(' '));
  check(ttls.every((ttl) => ttl > 0), 'every key expires', ttls.join(' '));
} catch (error) {
  failures++;
  log(`FAIL ${error instanceof Error ? error.stack : String(error)}`);
} finally {
  for (const child of live) child.kill('SIGKILL');
  await redis.stop();
  upstream.closeAllConnections();
  upstream.close();
}
log(failures === 0 ? 'all checks passed' : `${failures} check(s) failed`);
process.exitCode = failures === 0 ? 0 : 1;
