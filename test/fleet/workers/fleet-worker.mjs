// One instance of a fleet, in its own process, driven by its parent test over
// IPC (child_process.fork). It uses breakwater as a user does: the built
// package (its path comes in `init`), a Redis client of its own reached through
// `send`, and RateLimiter / CircuitBreaker / RetryBudget with `store` and `key`.
//
// Messages in: { id, op, ...args }; out: { id, ok, result | error }, plus
// { type: 'event', ... } as policies emit store and state events and
// { type: 'unhandled', error } for an unhandled rejection (there must be none).
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

// The real wall clock, also under the skew preload: timestamps sent to the parent are comparable across processes.
const wall = globalThis[Symbol.for('breakwater.test.realNow')] ?? Date.now;
// Elapsed times are measured on the real monotonic clock too (the preload shifts performance.now by a constant only).
const mono = () => performance.now();

let lib;
let client;
let store;
let storeTimeout = 50;
const policies = new Map();
const sendStats = { sends: 0, errors: 0, slow: 0, pending: 0, written: 0, errorMessages: new Set() };
const traffic = new Map();
const held = [];

/** To the parent, while it listens: policies may still emit (a sync winding down) after it let go. */
function post(message) {
  if (process.connected) process.send(message, () => {});
}

process.on('unhandledRejection', (error) => {
  post({ type: 'unhandled', error: String(error?.stack ?? error) });
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Integers as strings and nil as undefined, recursively: replies as some clients shape them. */
function mangle(value) {
  if (typeof value === 'number') return String(value);
  if (value === null) return undefined;
  if (Array.isArray(value)) return value.map(mangle);
  return value;
}

function errorName(error) {
  return error?.name ?? typeof error;
}

function emitEvent(policy, event, payload) {
  const message = { type: 'event', policy, event, at: wall() };
  if (payload && typeof payload.downtime === 'number') message.downtime = payload.downtime;
  if (payload && 'error' in payload) message.error = String(payload.error?.message ?? payload.error);
  if (payload && 'from' in payload) message.from = payload.from;
  if (payload && 'to' in payload) message.to = payload.to;
  post(message);
}

function watchEvents(name, policy, events) {
  const counts = Object.fromEntries(events.map((e) => [e, 0]));
  for (const event of events) {
    policy.on(event, (payload) => {
      counts[event]++;
      emitEvent(name, event, payload);
    });
  }
  return counts;
}

function add(name, kind, policy, events) {
  if (policies.has(name)) throw new Error(`policy ${name} exists`);
  const counts = watchEvents(name, policy, events);
  policies.set(name, { kind, policy, counts });
  return policy;
}

function get(name, kind) {
  const entry = policies.get(name);
  if (!entry || entry.kind !== kind) throw new Error(`no ${kind} named ${name}`);
  return entry.policy;
}

const ops = {
  async init({ entry, resp, port, prefix, timeout, mangleReplies }) {
    lib = await import(pathToFileURL(entry).href);
    const { connect } = await import(pathToFileURL(resp).href);
    // An ioredis-like client: it never fails a command because the server is away, it queues and
    // resends once reconnected. So a dead server looks like a slow one, and only the store's own
    // deadline keeps a call from waiting.
    client = connect(port, { offlineQueue: true, reconnectDelay: 50 });
    storeTimeout = timeout ?? 50;
    const send = (command, args) => {
      sendStats.sends++;
      sendStats.pending++;
      const started = mono();
      const reply = client.send(command, args);
      const settled = () => {
        sendStats.pending--;
        if (mono() - started > storeTimeout) sendStats.slow++;
      };
      reply.then(settled, (error) => {
        settled();
        // NOSCRIPT is the store's business (it loads the script); count only what looks like an outage.
        if (!/^NOSCRIPT/.test(error?.message ?? '')) {
          sendStats.errors++;
          sendStats.errorMessages.add(String(error?.message ?? error));
        }
      });
      return mangleReplies ? reply.then(mangle) : reply;
    };
    const options = { send };
    if (prefix !== undefined) options.prefix = prefix;
    if (timeout !== undefined) options.timeout = timeout;
    store = lib.createRedisStore(options);
    return { pid: process.pid, dateNow: Date.now(), perfClock: performance.timeOrigin + performance.now(), wall: wall() };
  },

  limiter({ name, key, ...options }) {
    add(name, 'limiter', new lib.RateLimiter({ ...options, store, key }), ['storeError', 'storeRecovered']);
    return true;
  },

  breaker({ name, key, ...options }) {
    add(name, 'breaker', new lib.CircuitBreaker({ ...options, store, key }), ['storeError', 'storeRecovered', 'stateChange']);
    return true;
  },

  budget({ name, key, ...options }) {
    add(name, 'budget', new lib.RetryBudget({ ...options, store, key }), ['storeError', 'storeRecovered']);
    return true;
  },

  /** `callers` concurrent calls through a limiter, all started in the same tick. */
  async burst({ name, callers }) {
    const limiter = get(name, 'limiter');
    const sendsBefore = sendStats.sends;
    const started = mono();
    let slowest = 0;
    const results = await Promise.allSettled(
      Array.from({ length: callers }, async () => {
        const t = mono();
        try {
          return await limiter.execute(() => 'ok');
        } finally {
          slowest = Math.max(slowest, mono() - t);
        }
      }),
    );
    const out = { admitted: 0, rejected: 0, other: [], retryAfterMin: Infinity, retryAfterMax: -Infinity, ms: mono() - started, slowest, sends: 0 };
    for (const r of results) {
      if (r.status === 'fulfilled') out.admitted++;
      else if (r.reason instanceof lib.RateLimitedError) {
        out.rejected++;
        out.retryAfterMin = Math.min(out.retryAfterMin, r.reason.retryAfter);
        out.retryAfterMax = Math.max(out.retryAfterMax, r.reason.retryAfter);
      } else out.other.push(`${errorName(r.reason)}: ${r.reason?.message}`);
    }
    out.sends = sendStats.sends - sendsBefore;
    return out;
  },

  /** `count` failing calls through a breaker, one after another; when it opened (wall clock). */
  async fail({ name, count }) {
    const breaker = get(name, 'breaker');
    let openedAt = null;
    const off = breaker.on('open', () => (openedAt ??= wall()));
    const outcomes = [];
    for (let i = 0; i < count; i++) {
      try {
        await breaker.execute(() => {
          throw new Error('boom');
        });
        outcomes.push('ok');
      } catch (error) {
        outcomes.push(errorName(error));
      }
    }
    off();
    return { openedAt, outcomes, state: breaker.state };
  },

  /**
   * Calls through a breaker every `period` ms until `watch-stop`. Each call's fn
   * returns at once, or with `hold` waits for `release`. Logged per call: when
   * it started (wall clock), whether fn ran, and how it ended.
   */
  'watch-start'({ name, period, hold }) {
    const breaker = get(name, 'breaker');
    const log = [];
    const calls = [];
    const tick = () => {
      const entry = { t: wall(), called: false, outcome: 'pending', fnAt: 0 };
      log.push(entry);
      const call = breaker
        .execute(() => {
          entry.called = true;
          entry.fnAt = wall();
          if (!hold) return 'ok';
          return new Promise((resolve) => held.push(() => resolve('ok')));
        })
        .then(
          () => (entry.outcome = 'ok'),
          (error) => (entry.outcome = errorName(error)),
        );
      calls.push(call);
    };
    tick();
    const timer = setInterval(tick, period);
    traffic.set(`watch:${name}`, { timer, log, calls, breaker });
    return true;
  },

  async 'watch-stop'({ name, settle }) {
    const run = traffic.get(`watch:${name}`);
    traffic.delete(`watch:${name}`);
    clearInterval(run.timer);
    if (settle) await Promise.all(run.calls);
    return { log: run.log, state: run.breaker.state };
  },

  /** Lets every held fn (from `watch-start` with `hold`) return. */
  release() {
    const n = held.length;
    for (const go of held.splice(0)) go();
    return n;
  },

  /**
   * Steady traffic until `traffic-stop`: every `period` ms one call through
   * wrap(breaker, retryWithBackoff({ budget }), limiter). Every `failEvery`-th
   * call's first attempt throws, so the retry (and the budget) has work; the
   * breaker sits outside the retry and sees only the final outcome.
   */
  'traffic-start'({ name, limiter, breaker, budget, period, failEvery }) {
    const parts = [];
    if (breaker) parts.push(get(breaker, 'breaker'));
    const b = budget ? get(budget, 'budget') : undefined;
    parts.push(lib.retryWithBackoff({ maxRetries: 2, initialDelay: 1, maxDelay: 5, jitter: 'none', ...(b ? { budget: b } : {}) }));
    if (limiter) parts.push(get(limiter, 'limiter'));
    const pipeline = lib.wrap(...parts);
    // How long this process's event loop stalled (a loaded machine): a call can end that much later than any timeout of its own.
    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
    const run = { calls: 0, ok: 0, failures: [], latencies: [], slow: [], pending: new Set(), timer: undefined, lag };
    let n = 0;
    const tick = () => {
      const i = ++n;
      const t = wall();
      const started = mono();
      run.calls++;
      const call = pipeline
        .execute((ctx) => {
          if (failEvery && i % failEvery === 0 && ctx.attempt === 1) throw new Error('transient');
          return 'ok';
        })
        .then(
          () => run.ok++,
          (error) => run.failures.push({ t, error: `${errorName(error)}: ${error?.message}` }),
        )
        .finally(() => {
          const ms = mono() - started;
          run.latencies.push(ms);
          if (ms > 20) run.slow.push({ t, ms: Math.round(ms) });
          run.pending.delete(call);
        });
      run.pending.add(call);
    };
    run.timer = setInterval(tick, period);
    traffic.set(`traffic:${name}`, run);
    return true;
  },

  async 'traffic-stop'({ name }) {
    const run = traffic.get(`traffic:${name}`);
    traffic.delete(`traffic:${name}`);
    clearInterval(run.timer);
    await Promise.all(run.pending);
    run.lag.disable();
    const sorted = run.latencies.slice().sort((a, b) => a - b);
    return {
      calls: run.calls,
      ok: run.ok,
      failures: run.failures,
      slowest: sorted.at(-1) ?? 0,
      p99: sorted[Math.floor(sorted.length * 0.99)] ?? 0,
      slow: run.slow,
      maxLag: run.lag.max / 1e6,
    };
  },

  state({ name }) {
    return get(name, 'breaker').state;
  },

  counts() {
    return Object.fromEntries([...policies].map(([name, p]) => [name, p.counts]));
  },

  sends() {
    return { ...sendStats, errorMessages: [...sendStats.errorMessages], written: client.written };
  },

  /** Stops the client: after this and a disconnect, nothing may keep the process alive. */
  close() {
    for (const run of traffic.values()) clearInterval(run.timer);
    traffic.clear();
    for (const go of held.splice(0)) go();
    client.close();
    return true;
  },
};

process.on('message', async (message) => {
  const { id, op, ...args } = message;
  try {
    const fn = ops[op];
    if (!fn) throw new Error(`unknown op ${op}`);
    const result = await fn(args);
    post({ id, ok: true, result });
  } catch (error) {
    post({ id, ok: false, error: String(error?.stack ?? error) });
  }
});
post({ type: 'ready' });
