// Fleet state through Redis: breakwater's fleet RateLimiter side by side with
// rate-limiter-flexible's RateLimiterRedis (the same ioredis client, the same
// limit), and the fleet CircuitBreaker's cost beside the local one. One
// process; a redis-server of its own on a free loopback port, stopped at the
// end. Run from the repository root: `npm run bench:fleet`.
// `--quick` runs one short round of each (a smoke test, not a measurement).
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import { build } from 'esbuild';
import { compare, fmtNs, median, table } from './harness.mjs';

const startedAt = performance.now();
const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const quick = process.argv.includes('--quick');

// Durations (ms) and round counts; --quick makes every figure rough.
const CALLERS = 64;
const RUN_MS = quick ? 250 : 2_000;
const WARM_MS = quick ? 100 : 500;
const ROUNDS = quick ? 1 : 5;
const REJECT_MS = quick ? 200 : 1_000;
const REJECT_ROUNDS = quick ? 1 : 3;
const SYNC_MS = quick ? 100 : 250;
const SYNC_RUN_MS = quick ? 600 : 3_000;
const INSTANCES = 4;
const IDLE_LATE_MS = 12_000; // past the breaker's idle stop (10 s without a call, src/store/fleet-breaker.ts)
// The store's timeout (default 50 ms) is a failure detector: on a loaded machine a 50 ms stall
// sends calls to the local fallback, which is no fleet figure (and is faster). rate-limiter-flexible
// waits for Redis however long it takes; so does breakwater here, up to this.
const STORE_TIMEOUT = Number(process.env.BENCH_STORE_TIMEOUT ?? 1_000);
const CMP = { rounds: quick ? 3 : 11, roundMs: quick ? 5 : 40 };

const target = process.env.BREAKWATER ?? path.join(here, '..', 'dist', 'index.js');
const bw = await import(pathToFileURL(path.resolve(target)).href);
const { default: Redis } = await import('ioredis');
const { RateLimiterRedis } = require('rate-limiter-flexible');
const versions = Object.fromEntries(
  ['ioredis', 'rate-limiter-flexible'].map((name) => [name, JSON.parse(readFileSync(path.join(here, 'node_modules', name, 'package.json'), 'utf8')).version]),
);

v8.setFlagsFromString('--expose-gc');
const gc = globalThis.gc ?? vm.runInNewContext('gc');
const minorGc = () => gc({ type: 'minor' });

const out = [];
function print(text = '') {
  out.push(text);
  console.log(text);
}
const results = [];
function check(name, pass, measured) {
  results.push({ name, pass, measured });
}
const fmtX = (r) => (Number.isFinite(r) ? `${r.toFixed(2)}×` : 'n/a');
const fmtRate = (r) => (Number.isFinite(r) ? `${Math.round(r).toLocaleString('en-US')}/s` : 'n/a');
const fmtMs = (ms) => (Number.isFinite(ms) ? fmtNs(ms * 1e6) : 'n/a');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const cpuNs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) * 1e3;
};

// ---- a redis-server of our own: the examples' (examples/fleet/redis-server.ts), bundled for this plain-JS script
const { outputFiles } = await build({ entryPoints: [path.join(here, '../examples/fleet/redis-server.ts')], bundle: true, platform: 'node', format: 'esm', write: false, logLevel: 'error' });
const { startRedisServer, redisServerVersion } = await import(`data:text/javascript;base64,${Buffer.from(outputFiles[0].text).toString('base64')}`);
let server;
try {
  if (redisServerVersion() === undefined) throw new Error('not installed');
  server = await startRedisServer();
} catch (error) {
  console.error(`fleet bench: cannot start redis-server (${error.message})`);
  // CI must have it (the fleet tests need it too); a developer without it is told and not failed.
  process.exit(process.env.CI ? 1 : 0);
}

const clients = [];
// Commands a client sent (its round trips), counted where they leave it: the
// server's commandstats also count the commands a script runs inside it.
const connect = async (count = true, options = {}) => {
  const c = new Redis({ host: '127.0.0.1', port: server.port, lazyConnect: true, ...options });
  await c.connect();
  clients.push(c);
  if (count) {
    c.sent = { total: 0, by: {} };
    const send = c.sendCommand;
    c.sendCommand = function (command, stream) {
      this.sent.total++;
      this.sent.by[command.name] = (this.sent.by[command.name] ?? 0) + 1;
      return send.call(this, command, stream);
    };
  }
  return c;
};
const sentSnapshot = (cs) => {
  const by = {};
  let total = 0;
  for (const c of cs) {
    total += c.sent.total;
    for (const [n, v] of Object.entries(c.sent.by)) by[n] = (by[n] ?? 0) + v;
  }
  return { total, by };
};
const sentBetween = (a, b) => ({ total: b.total - a.total, by: Object.fromEntries(Object.entries(b.by).map(([n, v]) => [n, v - (a.by[n] ?? 0)]).filter(([, v]) => v > 0)) });
// `redis` is the client both limiters share; `admin` reads the server's counters.
const redis = await connect();
const admin = await connect(false);
// For a reference row only: rate-limiter-flexible on a client that pipelines the commands of one tick.
const redisPipelined = await connect(true, { enableAutoPipelining: true });

async function serverInfo() {
  const text = await admin.call('INFO', 'all');
  const cpu = /used_cpu_sys:([\d.]+)/.exec(text) && Number(/used_cpu_sys:([\d.]+)/.exec(text)[1]) + Number(/used_cpu_user:([\d.]+)/.exec(text)[1]);
  const commands = {};
  for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) commands[m[1]] = Number(m[2]);
  return { cpuMs: cpu * 1e3, commands };
}
// The bench's own commands (INFO, CONFIG RESETSTAT) are not counted.
const OWN = new Set(['info', 'config|resetstat']);
function commandsBetween(before, after) {
  const by = {};
  let total = 0;
  for (const [name, n] of Object.entries(after.commands)) {
    const d = n - (before.commands[name] ?? 0);
    if (d > 0 && !OWN.has(name)) {
      by[name] = d;
      total += d;
    }
  }
  return { total, by };
}
const fmtBy = (by) => Object.entries(by).map(([n, c]) => `${n} ${c}`).join(', ') || 'none';

// ---- contenders ---------------------------------------------------------------
const fn = async () => 42;
let bwNote;
const store = (() => {
  if (typeof bw.createRedisStore !== 'function') return (bwNote = 'createRedisStore not built yet'), undefined;
  try {
    return bw.createRedisStore({ send: (c, a) => redis.call(c, ...a), timeout: STORE_TIMEOUT });
  } catch (error) {
    bwNote = `createRedisStore threw: ${error.message}`;
    return undefined;
  }
})();

// Store outages seen by breakwater's policies: a run with one measured local fallback, not the fleet.
const outages = [];
let section = 'setup';
function watch(policy, label) {
  try {
    policy.on('storeError', ({ error }) => outages.push(`section ${section}, ${label}: storeError (${error?.message ?? error})`));
    policy.on('storeRecovered', ({ downtime }) => outages.push(`section ${section}, ${label}: storeRecovered after ${Math.round(downtime)} ms`));
  } catch {
    // no such event yet: nothing to watch
  }
  return policy;
}

/** A limiter factory per contender: `make(limit, intervalSeconds, key)` → `() => Promise` (admitted) that rejects when turned away. */
const limiters = {
  breakwater: {
    label: 'breakwater RateLimiter (fleet)',
    isRejection: (e) => e instanceof bw.RateLimitedError,
    make(limit, seconds, key) {
      const limiter = watch(new bw.RateLimiter({ limit, interval: seconds * 1000, store, key }), 'RateLimiter');
      return () => limiter.execute(fn);
    },
  },
  rlf: {
    label: 'rate-limiter-flexible RateLimiterRedis',
    isRejection: (e) => e?.constructor?.name === 'RateLimiterRes',
    make(limit, seconds, key) {
      const rl = new RateLimiterRedis({ storeClient: redis, points: limit, duration: seconds });
      return () => rl.consume(key).then(fn);
    },
  },
  rlfPipelined: {
    label: 'rate-limiter-flexible, ioredis enableAutoPipelining',
    info: true,
    isRejection: (e) => e?.constructor?.name === 'RateLimiterRes',
    make(limit, seconds, key) {
      const rl = new RateLimiterRedis({ storeClient: redisPipelined, points: limit, duration: seconds });
      return () => rl.consume(key).then(fn);
    },
  },
  rlfBlock: {
    label: 'rate-limiter-flexible, inMemoryBlockOnConsumed',
    info: true,
    isRejection: (e) => e?.constructor?.name === 'RateLimiterRes',
    make(limit, seconds, key) {
      const rl = new RateLimiterRedis({ storeClient: redis, points: limit, duration: seconds, inMemoryBlockOnConsumed: limit });
      return () => rl.consume(key).then(fn);
    },
  },
};
let bwLimiterReady = store !== undefined;
if (bwLimiterReady) {
  // The fleet glue may still be a stub: one real call tells.
  try {
    await limiters.breakwater.make(10, 1, 'probe')();
  } catch (error) {
    bwLimiterReady = false;
    bwNote = `fleet RateLimiter not built yet (${error.message})`;
  }
}

// ---- the driver: 64 callers for `ms`, every decision timed ----------------------
/**
 * `CALLERS` async callers, each calling `call()` in a loop until `ms` is up.
 * A caller yields to the event loop every 32 of its calls: a decision answered
 * from memory settles in microtasks, and callers that never yielded would
 * starve the socket (in a service, each call arrives through I/O anyway).
 */
async function drive(call, isRejection, ms, record, callers = CALLERS) {
  const lat = record ? new Float64Array(4_000_000) : undefined;
  let n = 0;
  let admitted = 0;
  let rejected = 0;
  let errors = 0;
  let firstError;
  const t0 = performance.now();
  const end = t0 + ms;
  const before = await serverInfo();
  const sent0 = sentSnapshot([redis, redisPipelined]);
  const c0 = cpuNs();
  const caller = async () => {
    for (let i = 1; ; i++) {
      const s = performance.now();
      if (s >= end) return;
      try {
        await call();
        admitted++;
      } catch (error) {
        if (isRejection(error)) rejected++;
        else if (errors++ === 0) firstError = error;
      }
      if (lat !== undefined && n < lat.length) lat[n++] = performance.now() - s;
      if ((i & 31) === 0) await new Promise(setImmediate);
    }
  };
  await Promise.all(Array.from({ length: callers }, caller));
  const wall = performance.now() - t0;
  const cpu = (cpuNs() - c0) / 1e6;
  const sent = sentBetween(sent0, sentSnapshot([redis, redisPipelined]));
  const after = await serverInfo();
  const calls = admitted + rejected + errors;
  return { calls, admitted, rejected, errors, firstError, wall, cpu, serverCpu: after.cpuMs - before.cpuMs, sent: sent.total, serverCommands: commandsBetween(before, after).total, lat: lat?.subarray(0, n) };
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

/** Interleaved rounds of `drive` per contender; each round on a fresh key, after a warm-up on it. */
async function scenario(name, names, limit, seconds, runMs, rounds, record, callers = CALLERS) {
  const acc = Object.fromEntries(names.map((k) => [k, { rates: [], calls: 0, admitted: 0, rejected: 0, errors: 0, firstError: undefined, wall: 0, cpu: 0, serverCpu: 0, sent: 0, serverCommands: 0, lats: [] }]));
  for (let round = 0; round < rounds; round++) {
    for (const k of round % 2 === 0 ? names : [...names].reverse()) {
      const lim = limiters[k];
      const call = lim.make(limit, seconds, `bench:${name}:${k}:${round}:${Date.now()}`);
      await drive(call, lim.isRejection, WARM_MS, false);
      minorGc();
      const r = await drive(call, lim.isRejection, runMs, record, callers);
      const a = acc[k];
      a.rates.push(r.calls / (r.wall / 1e3));
      for (const f of ['calls', 'admitted', 'rejected', 'errors', 'wall', 'cpu', 'serverCpu', 'sent', 'serverCommands']) a[f] += r[f];
      a.firstError ??= r.firstError;
      if (r.lat !== undefined) a.lats.push(r.lat);
    }
  }
  for (const a of Object.values(acc)) {
    a.rate = median(a.rates);
    if (record) {
      const all = new Float64Array(a.lats.reduce((s, l) => s + l.length, 0));
      let o = 0;
      for (const l of a.lats) all.set(l, (o += l.length) - l.length);
      all.sort();
      a.p50 = percentile(all, 0.5);
      a.p99 = percentile(all, 0.99);
    }
    delete a.lats;
  }
  return acc;
}

// ---- header --------------------------------------------------------------------
const redisVersion = /redis_version:(\S+)/.exec(await admin.call('INFO', 'server'))?.[1];
print('# breakwater fleet benchmarks (Redis)');
print();
print('Reproduce with `npm run bench:fleet` at the repository root.');
print();
print(`- date: ${new Date().toISOString().slice(0, 10)}`);
print(`- machine: ${os.cpus()[0]?.model ?? 'unknown cpu'} × ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.platform()} ${os.arch()}`);
print(`- load average when the run started: ${os.loadavg().map((l) => l.toFixed(1)).join(', ')}`);
print(`- node ${process.version}; redis-server ${redisVersion} on loopback (\`--save '' --appendonly no\`), started by the bench; ${Object.entries(versions).map(([n, v]) => `${n} ${v}`).join(', ')}`);
print(`- method: ${CALLERS} concurrent callers in one process, one shared ioredis client, each decision timed; ${ROUNDS} interleaved round(s) of ${RUN_MS} ms per contender, each on a fresh key after ${WARM_MS} ms of warm-up on it; breakwater's stores with \`timeout: ${STORE_TIMEOUT}\` (BENCH_STORE_TIMEOUT; the default 50 ms would send calls to the local fallback on every stall of a loaded machine); throughput = median round, latency percentiles over all rounds. Commands sent counted on the client as they leave it; server-side commands (with those a script runs) from \`INFO commandstats\`.${quick ? ' QUICK MODE: numbers are rough.' : ''}`);
if (bwNote !== undefined) print(`- note: ${bwNote}: breakwater's rows are left out`);
print();

// ---- 1: every call admitted ----------------------------------------------------------
const bwNames = bwLimiterReady ? ['breakwater'] : [];
const rowsOf = (acc) =>
  Object.entries(acc).map(([k, a]) => [
    limiters[k].label,
    fmtRate(a.rate),
    a.rates.length > 1 ? `${fmtRate(Math.min(...a.rates))} – ${fmtRate(Math.max(...a.rates))}` : '—',
    `${((100 * a.rejected) / Math.max(a.calls, 1)).toFixed(1)} %`,
    fmtMs(a.p50),
    fmtMs(a.p99),
    fmtNs((a.cpu * 1e6) / Math.max(a.calls, 1)),
    fmtNs((a.serverCpu * 1e6) / Math.max(a.calls, 1)),
    (a.sent / Math.max(a.calls, 1)).toFixed(3),
    (a.serverCommands / Math.max(a.calls, 1)).toFixed(2),
    a.errors > 0 ? `${a.errors} (${a.firstError?.message ?? a.firstError})` : '0',
  ]);
const HEADER = ['contender', 'calls/s', 'rounds: min – max', 'rejected', 'p50', 'p99', 'node CPU/call', 'redis-server CPU/call', 'cmds sent/call', 'server cmds/call', 'errors'];

section = '1';
print(`## 1. Every call admitted (limit 1e9 per second), ${CALLERS} concurrent callers`);
print();
// Warm the shared paths (ioredis, the socket, each library) before any round counts: the first contender would pay for it.
for (const k of [...bwNames, 'rlf', 'rlfPipelined', 'rlfBlock']) await drive(limiters[k].make(1e9, 1, `bench:warm:${k}:${Date.now()}`), limiters[k].isRejection, WARM_MS * 2, false);
const s1 = await scenario('admit', [...bwNames, 'rlf', 'rlfPipelined'], 1e9, 1, RUN_MS, ROUNDS, true);
print(table(HEADER, rowsOf(s1)));
print();
print("(the enableAutoPipelining row is rate-limiter-flexible on a second ioredis client that sends one tick's commands in one write: for reference; the targets compare the shared default client)");
print();

// ---- 1b: one caller: a decision with nothing to share a round trip with ------------
section = '1b';
print('## 1b. One caller, every call admitted: the latency of a lone decision (for reference, no target)');
print();
const s1b = await scenario('admit1', [...bwNames, 'rlf'], 1e9, 1, RUN_MS, ROUNDS, true, 1);
print(table(HEADER, rowsOf(s1b)));
print();

// ---- 2: ~90 % rejected ---------------------------------------------------------------
const achieved = Math.min(...Object.entries(s1).filter(([k]) => !limiters[k].info).map(([, a]) => a.rate));
const limit2 = Math.max(1, Math.round(achieved / 10));
section = '2';
print(`## 2. About 90 % rejected: limit ${limit2} per second (10 % of the slower contender's rate in 1), ${CALLERS} concurrent callers`);
print();
const s2 = await scenario('reject90', [...bwNames, 'rlf', 'rlfPipelined', 'rlfBlock'], limit2, 1, RUN_MS, ROUNDS, true);
print(table(HEADER, rowsOf(s2)));
print();
print("(a contender whose rejections are cheaper makes more calls in the same time, so its rejected share is higher than 90 %. The inMemoryBlockOnConsumed row is rate-limiter-flexible's own local deny cache, opt-in, and the enableAutoPipelining row its commands pipelined by the client: both for reference, the targets compare its defaults)");
print();

// ---- 2b: what one rejected call costs --------------------------------------------
section = '2b';
print(`## 2b. Cost of a rejected call: every call rejected (limit 1 per hour, spent), ${CALLERS} concurrent callers`);
print();
const s3 = await scenario('reject-all', [...bwNames, 'rlf', 'rlfBlock'], 1, 3600, REJECT_MS, REJECT_ROUNDS, false);
const costOf = (a) => ((a.cpu + a.serverCpu) * 1e6) / Math.max(a.rejected, 1);
print(
  table(
    ['contender', 'calls/s', 'CPU per rejection (node + redis-server)', 'of which redis-server', 'cmds sent/call'],
    Object.entries(s3).map(([k, a]) => [limiters[k].label, fmtRate(a.rate), fmtNs(costOf(a)), fmtNs((a.serverCpu * 1e6) / Math.max(a.rejected, 1)), (a.sent / Math.max(a.calls, 1)).toFixed(3)]),
  ),
);
print();

if (bwLimiterReady) {
  const b1 = s1.breakwater;
  const r1 = s1.rlf;
  const b2 = s2.breakwater;
  const r2 = s2.rlf;
  check('throughput, all admitted ≥ rate-limiter-flexible', b1.rate >= r1.rate, `${fmtRate(b1.rate)} vs ${fmtRate(r1.rate)}: ${fmtX(b1.rate / r1.rate)}`);
  check('throughput, ~90 % rejected ≥ rate-limiter-flexible', b2.rate >= r2.rate, `${fmtRate(b2.rate)} vs ${fmtRate(r2.rate)}: ${fmtX(b2.rate / r2.rate)}`);
  check('p99 latency, all admitted ≤ rate-limiter-flexible', b1.p99 <= r1.p99, `${fmtMs(b1.p99)} vs ${fmtMs(r1.p99)}: ${fmtX(b1.p99 / r1.p99)} (p50 ${fmtMs(b1.p50)} vs ${fmtMs(r1.p50)})`);
  check('p99 latency, ~90 % rejected ≤ rate-limiter-flexible', b2.p99 <= r2.p99, `${fmtMs(b2.p99)} vs ${fmtMs(r2.p99)}: ${fmtX(b2.p99 / r2.p99)} (p50 ${fmtMs(b2.p50)} vs ${fmtMs(r2.p50)})`);
  const cb = costOf(s3.breakwater);
  const cr = costOf(s3.rlf);
  check('rejected call ≥ 5× cheaper than rate-limiter-flexible (CPU, node + redis-server)', cr >= 5 * cb, `${fmtNs(cb)} vs ${fmtNs(cr)}: ${fmtX(cr / cb)} cheaper`);
  for (const [name, acc] of [['1', s1], ['2', s2], ['2b', s3]]) {
    if (acc.breakwater.errors > 0) check(`no breakwater call failed in ${name}`, false, `${acc.breakwater.errors} errors: ${acc.breakwater.firstError?.message}`);
  }
} else {
  for (const t of ['throughput, all admitted', 'throughput, ~90 % rejected', 'p99 latency, all admitted', 'p99 latency, ~90 % rejected', 'rejected call ≥ 5× cheaper']) check(`${t} vs rate-limiter-flexible`, false, 'not built yet');
}

// ---- 3: fleet CircuitBreaker --------------------------------------------------------
const breakerConfigs = {
  consecutive: { label: 'consecutive (defaults)', options: {} },
  rate: { label: 'rate, 10 s time window', options: { failureRateThreshold: 0.5, windowDuration: 10_000 } },
};
let breakerNote;
const fleetBreaker = (options, s, key) => {
  const b = new bw.CircuitBreaker({ ...options, store: s, key });
  return watch(b, `CircuitBreaker ${key}`);
};
let breakerReady = store !== undefined && typeof bw.CircuitBreaker === 'function';
if (breakerReady) {
  try {
    await fleetBreaker({}, store, 'probe').execute(fn);
  } catch (error) {
    breakerReady = false;
    breakerNote = `fleet CircuitBreaker not built yet (${error.message})`;
  }
} else breakerNote = bwNote ?? 'CircuitBreaker not built';

section = '3';
print('## 3. Fleet CircuitBreaker: happy-path overhead beside the local breaker');
print();
if (!breakerReady) {
  print(`(${breakerNote}: left out)`);
  print();
  check("fleet breaker happy-path overhead ≤ 1.5× the local breaker's", false, 'not built yet');
} else {
  const bareCtx = { signal: new AbortController().signal, attempt: 1 };
  const contenders = [{ name: 'bare', call: () => fn(bareCtx) }];
  for (const [k, cfg] of Object.entries(breakerConfigs)) {
    const local = new bw.CircuitBreaker(cfg.options);
    const fleet = fleetBreaker(cfg.options, store, `bench:breaker:${k}:${Date.now()}`);
    await fleet.execute(fn);
    contenders.push({ name: `local ${k}`, call: () => local.execute(fn) }, { name: `fleet ${k}`, call: () => fleet.execute(fn) });
  }
  const m = await compare(contenders, { ...CMP, settle: minorGc });
  const bare = m.get('bare');
  const rows = [['bare `await fn()`', fmtNs(bare), '—', '—']];
  for (const [k, cfg] of Object.entries(breakerConfigs)) {
    const l = m.get(`local ${k}`) - bare;
    const f = m.get(`fleet ${k}`) - bare;
    rows.push([`local breaker, ${cfg.label}`, fmtNs(m.get(`local ${k}`)), fmtNs(l), '']);
    rows.push([`fleet breaker, ${cfg.label}`, fmtNs(m.get(`fleet ${k}`)), fmtNs(f), fmtX(f / l)]);
    check(`fleet breaker happy-path overhead ≤ 1.5× the local breaker's (${cfg.label})`, f <= 1.5 * l, `${fmtNs(f)} vs ${fmtNs(l)}: ${fmtX(f / l)}`);
  }
  print(table(['contender', 'ns/call', 'overhead', 'fleet ÷ local'], rows));
  print();
  print(`(sequential \`await\` in a loop, CPU time, ${CMP.rounds} interleaved rounds of ~${CMP.roundMs} ms as in bench/run.mjs; the background sync runs between rounds and is counted in section 4)`);
  print();
}

// ---- 4: store commands per instance per syncInterval --------------------------------------
section = '4';
print(`## 4. Fleet CircuitBreaker: store commands per instance per \`syncInterval\` (${INSTANCES} instances, each with its own client and store, one key, syncInterval ${SYNC_MS} ms, ${SYNC_RUN_MS} ms per rate)`);
print();
if (!breakerReady) {
  print(`(${breakerNote}: left out)`);
  print();
  check('store commands ≤ 2 per instance per syncInterval', false, 'not built yet');
} else {
  const rates = {
    'as fast as it goes': { gapMs: 0 },
    'one call per 5 ms': { gapMs: 5 },
    'idle (no calls)': { gapMs: Infinity },
  };
  const rows = [];
  for (const [rateName, { gapMs }] of Object.entries(rates)) {
    for (const [k, cfg] of Object.entries(breakerConfigs)) {
      const key = `bench:sync:${k}:${gapMs}:${Date.now()}`;
      const instances = [];
      const own = [];
      for (let i = 0; i < INSTANCES; i++) {
        const c = await connect();
        own.push(c);
        const s = bw.createRedisStore({ send: (cmd, a) => c.call(cmd, ...a), timeout: STORE_TIMEOUT });
        const b = fleetBreaker({ ...cfg.options, syncInterval: SYNC_MS }, s, key);
        await b.execute(fn);
        instances.push(b);
      }
      await sleep(SYNC_MS * 2);
      const lastCall = performance.now() - SYNC_MS * 2;
      const windows = [[rateName, 0]];
      // Idle breakers must stop syncing (no perpetual timer): looked at again long after the last call.
      if (gapMs === Infinity && !quick) windows.push([`idle, from ${IDLE_LATE_MS / 1000} s after the last call`, IDLE_LATE_MS]);
      for (const [label, after] of windows) {
        if (after > 0) await sleep(Math.max(0, lastCall + after - performance.now()));
        const before = await serverInfo();
        const sent0 = sentSnapshot(own);
        const c0 = cpuNs();
        const t0 = performance.now();
        const end = t0 + SYNC_RUN_MS;
        let calls = 0;
        await Promise.all(
          instances.map(async (b) => {
            if (gapMs === Infinity) return sleep(SYNC_RUN_MS);
            for (let i = 1; performance.now() < end; i++) {
              await b.execute(fn);
              calls++;
              if (gapMs > 0) await sleep(gapMs);
              else if ((i & 255) === 0) await new Promise(setImmediate);
            }
          }),
        );
        const wall = performance.now() - t0;
        const cpu = (cpuNs() - c0) / 1e6;
        const sent = sentBetween(sent0, sentSnapshot(own));
        const cmds = commandsBetween(before, await serverInfo());
        const perSync = sent.total / INSTANCES / (wall / SYNC_MS);
        rows.push([`${label}, ${cfg.label}`, fmtRate(calls / (wall / 1e3)), calls > 0 ? fmtNs((cpu * 1e6) / calls) : '—', `${sent.total} (${fmtBy(sent.by)})`, perSync.toFixed(2), `${cmds.total} (${fmtBy(cmds.by)})`]);
        check(`store commands ≤ 2 per instance per syncInterval: ${label}, ${cfg.label}`, perSync <= 2, `${perSync.toFixed(2)} (${sent.total} sent by ${INSTANCES} instances over ${(wall / SYNC_MS).toFixed(1)} intervals, at ${fmtRate(calls / (wall / 1e3))})`);
      }
    }
  }
  print(table(['call rate, breaker', 'calls/s (all instances)', 'CPU per call (incl. syncs)', 'commands sent', 'sent per instance per interval', 'server commands (incl. inside scripts)'], rows));
  print();
  print('(commands sent = counted on each instance\'s client as they leave it: the target. The server\'s `INFO commandstats` beside them counts the whole server, so also the commands each script runs inside it and the syncs of earlier rows\' instances that have not gone idle yet)');
  print();
}

// ---- targets -------------------------------------------------------------------------
if (outages.length > 0) {
  print('## STORE OUTAGES DURING THE RUN');
  print();
  print(`breakwater saw the store fail (slower than the store's timeout, ${STORE_TIMEOUT} ms here): the figures after such an event measure its local fallback, not the fleet path.`);
  print();
  const seen = new Map();
  for (const o of outages) seen.set(o, (seen.get(o) ?? 0) + 1);
  for (const [o, n] of seen) print(`- ${o}${n > 1 ? ` (×${n})` : ''}`);
  print();
  check('no store outage during the run', false, `${outages.filter((o) => o.includes('storeError')).length} storeError event(s)`);
}

for (const c of clients) c.disconnect();
await server.stop();

print('## Targets');
print();
print(table(['target', 'result', 'measured'], results.map((r) => [r.name, r.pass ? 'PASS' : 'MISS', r.measured])));
print();
const missed = results.filter((r) => !r.pass);
for (const r of missed) print(`MISS: ${r.name}: ${r.measured}`);
if (missed.length > 0) print();
print(`${results.length - missed.length} of ${results.length} fleet targets met. The whole run took ${((performance.now() - startedAt) / 1000).toFixed(0)} s.`);
// Like run.mjs with RESULTS.md: any BENCH_OUT writes the fleet report beside this file.
if (process.env.BENCH_OUT) writeFileSync(path.join(here, "RESULTS-fleet.md"), `${out.join('\n')}\n`);
