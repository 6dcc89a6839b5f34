// Failure mode: a policy stops waiting for a call (a timeout fired, a hedge
// won, the caller aborted) but nobody listens to the abandoned promise any
// more, so when it rejects later Node reports an unhandled rejection (or
// crashes the process); and a fallback around it runs a second time.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Bulkhead, RateLimiter, TimeoutError, hedge, retryWithBackoff, withFallback, withTimeout, wrap, type PolicyContext } from '../../src/index.js';
import { drainMacrotasks, track, watchUnhandled } from './fixtures/watch.js';

class Late extends Error {}

/** A call that ignores its signal and rejects after `ms`. */
const rejectsAfter = (ms: number) => (): Promise<never> =>
  new Promise((_, reject) => setTimeout(() => reject(new Late(`after ${ms} ms`)), ms));

describe('a late rejection of an abandoned call', () => {
  let unhandled: ReturnType<typeof watchUnhandled>;
  beforeEach(() => {
    vi.useFakeTimers();
    unhandled = watchUnhandled();
  });
  afterEach(() => {
    unhandled.stop();
    vi.useRealTimers();
  });

  it('is not unhandled after an aggressive timeout gave up on it', async () => {
    const call = track(withTimeout(10).execute(rejectsAfter(50)));
    await vi.advanceTimersByTimeAsync(10);
    expect(call.error).toBeInstanceOf(TimeoutError);
    await vi.advanceTimersByTimeAsync(100); // the abandoned call rejects now
    await drainMacrotasks();
    expect(unhandled.seen).toEqual([]);
    expect(call.settled).toBe(1);
  });

  it('runs the fallback exactly once, at the timeout, not again when the abandoned call rejects', async () => {
    const fallback = vi.fn((_outcome: unknown) => 'fallback');
    const call = track(wrap(withFallback(fallback), withTimeout(10)).execute(rejectsAfter(50)));
    await vi.advanceTimersByTimeAsync(10);
    expect(call.value).toBe('fallback');
    await vi.advanceTimersByTimeAsync(100);
    await drainMacrotasks();
    expect(fallback).toHaveBeenCalledTimes(1);
    expect(fallback.mock.calls[0]![0]).toEqual({ error: expect.any(TimeoutError) });
    expect(unhandled.seen).toEqual([]);
  });

  it('is not unhandled when every attempt of a retry is abandoned by its own timeout', async () => {
    const fallback = vi.fn(() => 'fallback');
    const fn = vi.fn(rejectsAfter(30));
    const pipeline = wrap(withFallback(fallback), retryWithBackoff({ maxRetries: 3, initialDelay: 1, jitter: 'none' }), withTimeout(10));
    const call = track(pipeline.execute(fn));
    await vi.runAllTimersAsync();
    await drainMacrotasks();
    expect(fn).toHaveBeenCalledTimes(4);
    expect(call.value).toBe('fallback');
    expect(fallback).toHaveBeenCalledTimes(1);
    expect(unhandled.seen).toEqual([]);
  });

  it('is not unhandled when the caller aborted while a timeout was running it', async () => {
    const caller = new AbortController();
    const fallback = vi.fn(() => 'fallback');
    const call = track(wrap(withFallback(fallback), withTimeout(1_000)).execute(rejectsAfter(50), caller.signal));
    caller.abort(new Error('caller gave up'));
    await vi.runAllTimersAsync();
    await drainMacrotasks();
    // The caller's own abort is never replaced by a fallback.
    expect(fallback).not.toHaveBeenCalled();
    expect(call.settled).toBe(1);
    expect(unhandled.seen).toEqual([]);
  });

  it('is not unhandled when a hedge won and the loser rejects later', async () => {
    // Attempt 1 ignores its signal and rejects at 50 ms; attempt 2 (started at 10 ms) answers at once.
    let started = 0; // which hedged attempt this is
    const fn = () => (++started === 1 ? rejectsAfter(50)() : 'hedged');
    const call = track(hedge({ delay: 10 }).execute(fn));
    await vi.advanceTimersByTimeAsync(10);
    expect(call.value).toBe('hedged');
    await vi.advanceTimersByTimeAsync(100);
    await drainMacrotasks();
    expect(unhandled.seen).toEqual([]);
  });

  it('runs a fallback around a hedge once when every hedged attempt rejects late, at different times', async () => {
    const fallback = vi.fn(() => 'fallback');
    let started = 0; // which hedged attempt this is
    const fn = vi.fn(() => rejectsAfter(100 - ++started * 20)());
    const call = track(wrap(withFallback(fallback), hedge({ delay: 5, maxHedges: 3 })).execute(fn));
    await vi.runAllTimersAsync();
    await drainMacrotasks();
    expect(fn).toHaveBeenCalledTimes(4);
    expect(call.value).toBe('fallback');
    expect(fallback).toHaveBeenCalledTimes(1);
    expect(unhandled.seen).toEqual([]);
  });

  it('is not unhandled when the caller aborted a hedge and its attempts reject later', async () => {
    const caller = new AbortController();
    const fallback = vi.fn(() => 'fallback');
    const call = track(wrap(withFallback(fallback), hedge({ delay: 5, maxHedges: 2 })).execute(rejectsAfter(50), caller.signal));
    await vi.advanceTimersByTimeAsync(12); // three attempts running
    caller.abort('stop');
    await call.done;
    expect(call.error).toBe('stop'); // at once, with the caller's reason
    await vi.runAllTimersAsync();
    await drainMacrotasks();
    expect(fallback).not.toHaveBeenCalled();
    expect(unhandled.seen).toEqual([]);
  });

  it('is not unhandled when a timeout abandons a hedge whose attempts reject later', async () => {
    const fallback = vi.fn(() => 'fallback');
    const call = track(wrap(withFallback(fallback), withTimeout(8), hedge({ delay: 5, maxHedges: 1 })).execute(rejectsAfter(50)));
    await vi.runAllTimersAsync();
    await drainMacrotasks();
    expect(call.value).toBe('fallback');
    expect(fallback).toHaveBeenCalledTimes(1);
    expect(unhandled.seen).toEqual([]);
  });

  it('is not unhandled when a timeout abandons a call waiting in a bulkhead queue, and the queue lets it go', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 5 });
    const fallback = vi.fn(() => 'fallback');
    const pipeline = wrap(withFallback(fallback), withTimeout(10), bulkhead);
    const first = track(pipeline.execute(rejectsAfter(50))); // holds the slot past its own timeout
    const queued = track(pipeline.execute(rejectsAfter(50)));
    expect(bulkhead.queued).toBe(1);
    await vi.advanceTimersByTimeAsync(10);
    expect([first.value, queued.value]).toEqual(['fallback', 'fallback']);
    expect(bulkhead.queued).toBe(0);
    await vi.runAllTimersAsync();
    await drainMacrotasks();
    expect(fallback).toHaveBeenCalledTimes(2);
    expect(bulkhead.active).toBe(0);
    expect(unhandled.seen).toEqual([]);
  });

  it('is not unhandled when the caller aborts calls waiting for a rate limiter token', async () => {
    const limiter = new RateLimiter({ limit: 1, interval: 100, maxWait: 1_000 });
    const caller = new AbortController();
    const calls = [1, 2, 3].map(() => track(limiter.execute(rejectsAfter(5), caller.signal)));
    expect(limiter.queued).toBe(2);
    caller.abort('stop');
    await vi.runAllTimersAsync();
    await drainMacrotasks();
    expect(calls.map((c) => c.error instanceof Late || c.error === 'stop')).toEqual([true, true, true]);
    expect(calls[1]!.error).toBe('stop');
    expect(limiter.queued).toBe(0);
    expect(unhandled.seen).toEqual([]);
  });
});
