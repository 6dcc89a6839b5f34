// Soak: a million calls through a pipeline of every policy, 20% of them
// failing, on real timers. Prints the heap before and after (after a forced GC)
// and the calls per second; exits 1 if the heap grew by more than the limit,
// or if anything was left behind (listeners, timers, unsettled calls).
//
//   npm run soak                                   (builds dist/ first)
//   node --expose-gc scripts/soak.mjs [--calls 1000000] [--concurrency 256] [--max-growth-mb 4]
import { getEventListeners, setMaxListeners } from 'node:events';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    calls: { type: 'string', default: '1000000' },
    concurrency: { type: 'string', default: '100' },
    'max-growth-mb': { type: 'string', default: '4' },
    dist: { type: 'string', default: new URL('../dist/index.js', import.meta.url).pathname },
  },
});
const CALLS = Number(args.calls);
const CONCURRENCY = Number(args.concurrency);
const MAX_GROWTH = Number(args['max-growth-mb']) * 1024 * 1024;
const WARMUP = Math.min(50_000, Math.floor(CALLS / 10));

if (typeof globalThis.gc !== 'function') {
  console.error('soak: run with node --expose-gc (npm run soak does)');
  process.exit(2);
}
const {
  Bulkhead, CircuitBreaker, RateLimiter, RetryBudget, chaos, hedge, retryWithBackoff, withFallback, withTimeout, wrap,
} = await import(pathToFileURL(args.dist).href);

class Failure extends Error {}
const failure = new Failure('20% of calls fail'); // one instance: the soak measures the library, not stack traces

const breaker = new CircuitBreaker({ failureRateThreshold: 0.9, minimumCalls: 100, windowSize: 200, openDuration: 1_000 });
const pipeline = wrap(
  withFallback('fallback'),
  withTimeout(10_000),
  retryWithBackoff({ maxRetries: 1, initialDelay: 0, budget: new RetryBudget({ ratio: 0.5 }) }),
  breaker,
  new Bulkhead({ maxConcurrent: CONCURRENCY, maxQueue: CONCURRENCY }),
  new RateLimiter({ limit: 1e9, interval: 1_000 }),
  hedge({ delay: 5_000 }),
  withTimeout(5_000),
  chaos({ enabled: false }),
);

let opens = 0;
breaker.on('open', () => void opens++);

// One long-lived caller signal for every call, as a server's shutdown signal would be.
const caller = new AbortController();
// Each call in flight may listen on it (a hedge, a queued wait): up to 3 at once. Node's limit is
// set to exactly that many, so a MaxListenersExceededWarning means a listener outlived its call.
setMaxListeners(CONCURRENCY * 3, caller.signal);
const warnings = [];
process.on('warning', (warning) => warnings.push(`${warning.name}: ${warning.message}`));
const outcomes = { ok: 0, fallback: 0, rejected: 0 };
let started = 0;
let settledCount = 0;

// Every fifth call fails on every attempt: retried once (budget permitting), then the fallback answers.
// Every other call alternates a plain value and a resolved promise, and reads ctx.signal now and then.
function call(i, ctx) {
  if (i % 5 === 0) throw failure;
  if (i % 7 === 0) void ctx.signal;
  return i % 2 === 0 ? 'ok' : Promise.resolve('ok');
}

async function worker(until) {
  while (started < until) {
    const i = started++;
    try {
      const value = await pipeline.execute((ctx) => call(i, ctx), caller.signal);
      if (value === 'ok') outcomes.ok++;
      else outcomes.fallback++;
    } catch {
      outcomes.rejected++;
    }
    settledCount++;
  }
}

async function run(until) {
  await Promise.all(Array.from({ length: CONCURRENCY }, () => worker(until)));
}

function heap() {
  globalThis.gc();
  globalThis.gc();
  return process.memoryUsage().heapUsed;
}

const mb = (bytes) => `${(bytes / 1024 / 1024).toFixed(2)} MB`;

await run(WARMUP);
const before = heap();
const t0 = performance.now();
await run(CALLS);
const seconds = (performance.now() - t0) / 1000;
// Let the last retry delays and microtasks drain before measuring.
await new Promise((resolve) => setTimeout(resolve, 50));
const after = heap();
const growth = after - before;
const measured = CALLS - WARMUP;

const listeners = getEventListeners(caller.signal, 'abort').length;
const timers = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
const problems = [];
if (growth > MAX_GROWTH) problems.push(`heap grew by ${mb(growth)} (limit ${mb(MAX_GROWTH)})`);
if (listeners !== 0) problems.push(`${listeners} abort listener(s) left on the caller signal`);
if (timers !== 0) problems.push(`${timers} timer(s) left running`);
if (settledCount !== CALLS) problems.push(`${CALLS - settledCount} call(s) never settled`);
if (warnings.length !== 0) problems.push(`process warnings: ${warnings.join('; ')}`);
if (outcomes.rejected !== 0) problems.push(`${outcomes.rejected} call(s) rejected through the fallback`);

console.log(`soak: ${CALLS.toLocaleString('en')} calls (${WARMUP.toLocaleString('en')} warm-up), ${CONCURRENCY} at a time, 20% failing, on ${process.version}`);
console.log(`  pipeline   fallback > timeout > retry(budget) > breaker > bulkhead > rate limiter > hedge > timeout > chaos(off)`);
console.log(`  outcomes   ok ${outcomes.ok}, fallback ${outcomes.fallback}, rejected ${outcomes.rejected}; breaker opened ${opens} times, now ${breaker.state}`);
console.log(`  heap       before ${mb(before)}, after ${mb(after)}, growth ${mb(growth)} (limit ${mb(MAX_GROWTH)})`);
console.log(`  speed      ${Math.round(measured / seconds).toLocaleString('en')} calls/s (${measured.toLocaleString('en')} calls in ${seconds.toFixed(2)} s)`);
console.log(`  left over  ${listeners} abort listeners, ${timers} timers`);
if (problems.length > 0) {
  console.error(`soak FAILED: ${problems.join('; ')}`);
  process.exit(1);
}
console.log('soak passed');
