// Failure mode: every call adds an `abort` listener to the caller's long-lived
// signal and never removes it, so the signal grows without bound and Node
// prints MaxListenersExceededWarning after the 11th call.
import { setMaxListeners } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Bulkhead, CircuitBreaker, RateLimiter, RetryBudget, chaos, hedge, retryWithBackoff, withFallback, withTimeout, wrap, type PolicyContext } from '../../src/index.js';
import { abortListeners, drainMacrotasks, watchWarnings } from './fixtures/watch.js';

const CALLS = 20_000;
// A call in flight may hold up to 3 listeners on the caller's signal (a hedge's and one per
// hedged attempt; a queued call holds one). The signal's limit is set to exactly what the calls in flight may hold, so
// Node warns as soon as one listener outlives its call.
const CONCURRENCY = 10;
const PER_CALL = 3;

class Boom extends Error {}

/** Every kind of ending: at once, later, thrown, failed then fine, hung until the timeout. */
function behave(i: number, ctx: PolicyContext): unknown {
  switch (i % 6) {
    case 0:
      return 'sync';
    case 1:
      void ctx.signal; // reading the signal is what makes a scope listen upstream
      return new Promise((resolve) => setTimeout(resolve, 5, 'later'));
    case 2:
      throw new Boom('sync failure');
    case 3:
      return ctx.attempt === 1 ? Promise.reject(new Boom('first attempt')) : 'second attempt';
    case 4:
      void ctx.signal;
      return new Promise(() => {}); // hangs: only the timeout ends it
    default:
      return new Promise((resolve, reject) => {
        ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true });
        setTimeout(resolve, 100, 'too slow'); // a cooperative fn: rejects when the timeout aborts it
      });
  }
}

describe('abort listeners on a long-lived caller signal', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it('the warning watch sees a real leak (control)', async () => {
    // Node's own printer is a 'warning' listener too: set aside while this expected warning passes.
    const printers = process.listeners('warning');
    process.removeAllListeners('warning');
    const warnings = watchWarnings('MaxListenersExceededWarning');
    try {
      const leaky = new AbortController();
      for (let i = 0; i < 11; i++) leaky.signal.addEventListener('abort', () => {});
      await drainMacrotasks();
    } finally {
      warnings.stop();
      for (const printer of printers) process.on('warning', printer);
    }
    expect(warnings.seen).toHaveLength(1);
  });

  it(`leaves zero listeners after ${CALLS} calls of every kind through a full pipeline`, async () => {
    const warnings = watchWarnings('MaxListenersExceededWarning');
    const caller = new AbortController();
    setMaxListeners(CONCURRENCY * PER_CALL, caller.signal);
    const pipeline = wrap(
      withFallback('fallback'),
      retryWithBackoff({ maxRetries: 2, initialDelay: 1, jitter: 'none', budget: new RetryBudget() }),
      new CircuitBreaker({ failureThreshold: 5, openDuration: 50 }),
      new Bulkhead({ maxConcurrent: 4, maxQueue: 10, queueTimeout: 30 }), // some calls queue, some time out queued
      new RateLimiter({ limit: 50, interval: 10, maxWait: 20 }),
      hedge({ delay: 10 }),
      withTimeout(20),
      chaos({ latency: [0, 3], latencyRate: 0.3, seed: 9 }),
    );
    const outcomes = new Map<unknown, number>();
    let peak = 0;
    for (let i = 0; i < CALLS; i += CONCURRENCY) {
      const batch: Promise<unknown>[] = [];
      for (let k = 0; k < CONCURRENCY; k++) batch.push(pipeline.execute((ctx) => behave(i + k, ctx), caller.signal));
      peak = Math.max(peak, abortListeners(caller.signal));
      await vi.runAllTimersAsync();
      for (const value of await Promise.all(batch)) outcomes.set(value, (outcomes.get(value) ?? 0) + 1);
    }
    await drainMacrotasks();
    warnings.stop();

    expect(abortListeners(caller.signal)).toBe(0);
    expect(warnings.seen).toEqual([]);
    expect(peak).toBeLessThanOrEqual(CONCURRENCY * PER_CALL);
    expect(vi.getTimerCount()).toBe(0);
    // Every kind of ending really happened.
    expect([...outcomes.keys()].sort()).toEqual(['fallback', 'later', 'second attempt', 'sync']);
    expect(outcomes.get('fallback')).toBeGreaterThan(CALLS / 3);
  }, 30_000);

  it("one call after another under Node's default limit of 10: never a warning, never a listener left", async () => {
    const warnings = watchWarnings('MaxListenersExceededWarning');
    const caller = new AbortController(); // Node's default limit: the 11th leaked listener would warn
    const pipeline = wrap(
      withFallback('fallback'),
      retryWithBackoff({ maxRetries: 2, initialDelay: 1, jitter: 'none' }),
      new CircuitBreaker({ failureThreshold: 5, openDuration: 50 }),
      new Bulkhead({ maxConcurrent: 1 }),
      new RateLimiter({ limit: 50, interval: 10, maxWait: 20 }),
      hedge({ delay: 10 }),
      withTimeout(20),
      chaos({ latency: [0, 3], latencyRate: 0.3, seed: 4 }),
    );
    for (let i = 0; i < 2_000; i++) {
      const call = pipeline.execute((ctx) => behave(i, ctx), caller.signal);
      await vi.runAllTimersAsync();
      await call;
    }
    await drainMacrotasks();
    warnings.stop();
    expect(abortListeners(caller.signal)).toBe(0);
    expect(warnings.seen).toEqual([]);
  }, 30_000);
});
