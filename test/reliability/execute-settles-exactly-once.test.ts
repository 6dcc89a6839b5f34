// Failure mode: a policy that assumes `fn` returns a well-behaved native
// promise hangs, settles twice (runs a fallback or counts an outcome twice)
// or crashes when `fn` throws synchronously, returns a foreign thenable that
// calls back twice, or throws something that is not an Error.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  Bulkhead,
  CircuitBreaker,
  RateLimiter,
  RetryBudget,
  chaos,
  TimeoutError,
  hedge,
  retryWithBackoff,
  withFallback,
  withTimeout,
  wrap,
  type Policy,
  type PolicyContext,
} from '../../src/index.js';
import { drainMacrotasks, watchUnhandled } from './fixtures/watch.js';

const boom = new Error('boom');

/** What `fn` does, and what a transparent policy must settle with. */
const behaviours: Record<string, { fn: (ctx: PolicyContext) => unknown; ok?: unknown; error?: unknown }> = {
  'returns a plain value': { fn: () => 'v', ok: 'v' },
  'throws an Error synchronously': { fn: () => { throw boom; }, error: boom },
  "throws 'x'": { fn: () => { throw 'x'; }, error: 'x' },
  'throws undefined': { fn: () => { throw undefined; }, error: undefined },
  'throws null': { fn: () => { throw null; }, error: null },
  'returns a non-promise thenable': { fn: () => ({ then: (ok: (v: unknown) => void) => ok('t') }), ok: 't' },
  'returns a thenable that resolves twice': { fn: () => ({ then: (ok: (v: unknown) => void) => { ok('first'); ok('second'); } }), ok: 'first' },
  'returns a thenable that resolves, then rejects': {
    fn: () => ({ then: (ok: (v: unknown) => void, fail: (e: unknown) => void) => { ok('first'); fail(boom); } }),
    ok: 'first',
  },
  'returns a thenable that rejects, then resolves, later': {
    fn: () => ({ then: (ok: (v: unknown) => void, fail: (e: unknown) => void) => { setTimeout(() => { fail(boom); ok('late'); }, 1); } }),
    error: boom,
  },
  'returns a thenable whose then throws after resolving': {
    fn: () => ({ then: (ok: (v: unknown) => void) => { ok('first'); throw boom; } }),
    ok: 'first',
  },
  'returns a thenable whose then throws': { fn: () => ({ then: () => { throw boom; } }), error: boom },
  'returns a promise rejected with undefined': { fn: () => Promise.reject(undefined), error: undefined },
};

/** Policies that hand fn's outcome through unchanged (once retries run out). */
function transparentPolicies(): Record<string, () => Policy<unknown>> {
  return {
    'no policy (wrap())': () => wrap(),
    retryWithBackoff: () => retryWithBackoff({ maxRetries: 2, initialDelay: 1 }),
    'withTimeout (aggressive)': () => withTimeout(1_000),
    'withTimeout (cooperative)': () => withTimeout(1_000, { strategy: 'cooperative' }),
    CircuitBreaker: () => new CircuitBreaker(),
    Bulkhead: () => new Bulkhead({ maxConcurrent: 1, maxQueue: 1 }),
    RateLimiter: () => new RateLimiter({ limit: 1, interval: 1_000 }),
    'chaos (latency only)': () => chaos({ latency: 5, seed: 1 }),
    'hedge (answers from one attempt)': () => hedge({ delay: 10, handle: () => false }),
    'a pipeline of all of them': () =>
      wrap(
        retryWithBackoff({ maxRetries: 2, initialDelay: 1, budget: new RetryBudget() }),
        new CircuitBreaker(),
        new Bulkhead({ maxConcurrent: 1, maxQueue: 1 }),
        new RateLimiter({ limit: 1, interval: 1_000 }),
        withTimeout(1_000),
        hedge({ delay: 10, handle: () => false }),
        withTimeout(500, { strategy: 'cooperative' }),
        chaos({ latency: [0, 5], seed: 2 }),
      ),
  };
}

interface Settled {
  count: number;
  kind?: 'ok' | 'error';
  value?: unknown;
}

async function settle(policy: Policy<unknown>, fn: (ctx: PolicyContext) => unknown): Promise<Settled> {
  const s: Settled = { count: 0 };
  policy.execute(fn).then(
    (value) => Object.assign(s, { count: s.count + 1, kind: 'ok', value }),
    (value: unknown) => Object.assign(s, { count: s.count + 1, kind: 'error', value }),
  );
  await vi.runAllTimersAsync();
  return s;
}

describe('every execute settles exactly once, whatever fn does', () => {
  let unhandled: ReturnType<typeof watchUnhandled>;
  beforeEach(() => {
    vi.useFakeTimers();
    unhandled = watchUnhandled();
  });
  afterEach(async () => {
    await drainMacrotasks();
    unhandled.stop();
    expect(unhandled.seen).toEqual([]);
    vi.useRealTimers();
  });

  for (const [policyName, make] of Object.entries(transparentPolicies())) {
    for (const [what, b] of Object.entries(behaviours)) {
      it(`${policyName}: fn ${what}`, async () => {
        const s = await settle(make(), b.fn);
        expect(s.count).toBe(1);
        if ('ok' in b) expect(s).toEqual({ count: 1, kind: 'ok', value: b.ok });
        else expect(s).toEqual({ count: 1, kind: 'error', value: b.error });
      });
    }
  }

  for (const [what, b] of Object.entries(behaviours)) {
    it(`withFallback runs once and answers once: fn ${what}`, async () => {
      const fallback = vi.fn(() => 'fallback');
      const s = await settle(withFallback(fallback), b.fn);
      expect(s).toEqual({ count: 1, kind: 'ok', value: 'ok' in b ? b.ok : 'fallback' });
      expect(fallback).toHaveBeenCalledTimes('ok' in b ? 0 : 1);
    });

    it(`retry counts one outcome per attempt: fn ${what}`, async () => {
      const retry = retryWithBackoff({ maxRetries: 2, initialDelay: 1 });
      const events = { retry: 0, giveUp: 0, success: 0 };
      retry.on('retry', () => void events.retry++);
      retry.on('giveUp', () => void events.giveUp++);
      retry.on('success', () => void events.success++);
      const fn = vi.fn(b.fn);
      await settle(retry, fn);
      expect(events).toEqual('ok' in b ? { retry: 0, giveUp: 0, success: 1 } : { retry: 2, giveUp: 1, success: 0 });
      expect(fn).toHaveBeenCalledTimes('ok' in b ? 1 : 3);
    });
  }

  for (const [policyName, make] of Object.entries({ ...transparentPolicies(), withFallback: () => withFallback('fallback') })) {
    it(`${policyName}: fn that never settles ends at a timeout outside`, async () => {
      const s = await settle(wrap(withTimeout(50), make()), () => new Promise(() => {}));
      expect(s.count).toBe(1);
      expect(s.kind).toBe('error');
      expect(s.value).toBeInstanceOf(TimeoutError);
    });
  }
});
