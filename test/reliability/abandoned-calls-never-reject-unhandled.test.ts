// Failure mode: a policy stops waiting for a call (a timeout fired, a hedge
// won, the caller aborted) but nobody listens to the abandoned promise any
// more, so when it rejects later Node reports an unhandled rejection (or
// crashes the process); and a fallback around it runs a second time.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TimeoutError, retryWithBackoff, withFallback, withTimeout, wrap } from '../../src/index.js';
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
});
