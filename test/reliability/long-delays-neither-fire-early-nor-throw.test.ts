// Failure mode: setTimeout takes at most 2^31-1 ms (about 24.8 days); a longer
// delay fires after 1 ms instead (with a TimeoutOverflowWarning), so a long
// timeout times out at once and a long retry delay retries at once.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Bulkhead, BulkheadRejectedError, CircuitBreaker, RateLimiter, TimeoutError, chaos, hedge, retryWithBackoff, withTimeout, type PolicyContext } from '../../src/index.js';
import { drainMacrotasks, track, watchWarnings } from './fixtures/watch.js';

const LONG = [2 ** 31 - 1, 2 ** 31, 2 ** 32 + 7, 1e12];
const hang = () => new Promise<never>(() => {});

class Fails extends Error {}

describe('delays and timeouts at or above 2^31 ms', () => {
  afterEach(() => void vi.useRealTimers());

  for (const ms of LONG) {
    it(`a ${ms} ms timeout fires at its deadline, not before (fake clock, which overflows like Node)`, async () => {
      vi.useFakeTimers();
      const call = track(withTimeout(ms).execute(hang));
      await vi.advanceTimersByTimeAsync(ms - 1);
      expect(call.settled).toBe(0);
      await vi.advanceTimersByTimeAsync(1);
      expect(call.error).toBeInstanceOf(TimeoutError);
      expect((call.error as TimeoutError).timeout).toBe(ms);
    });

    it(`a ${ms} ms retry delay waits its full length`, async () => {
      vi.useFakeTimers();
      const fn = vi.fn(() => (fn.mock.calls.length === 1 ? Promise.reject(new Fails()) : 'second'));
      const call = track(retryWithBackoff({ maxRetries: 1, initialDelay: ms, maxDelay: Infinity, jitter: 'none' }).execute(fn));
      await vi.advanceTimersByTimeAsync(ms - 1);
      expect(fn).toHaveBeenCalledTimes(1);
      await vi.advanceTimersByTimeAsync(1);
      expect(fn).toHaveBeenCalledTimes(2);
      expect(call.value).toBe('second');
      expect(vi.getTimerCount()).toBe(0);
    });

    it(`a ${ms} ms hedge delay starts no hedge before it`, async () => {
      vi.useFakeTimers();
      let started = 0; // which hedged attempt this is
      const fn = vi.fn(() => (++started === 1 ? hang() : 'hedged'));
      const call = track(hedge({ delay: ms }).execute(fn));
      await vi.advanceTimersByTimeAsync(ms - 1);
      expect(fn).toHaveBeenCalledTimes(1);
      await vi.advanceTimersByTimeAsync(1);
      expect(fn).toHaveBeenCalledTimes(2);
      expect(call.value).toBe('hedged');
    });

    it(`a ${ms} ms openDuration keeps the breaker open until then`, async () => {
      vi.useFakeTimers();
      const breaker = new CircuitBreaker({ failureThreshold: 1, openDuration: ms });
      await breaker.execute(() => Promise.reject(new Fails())).catch(() => {});
      await vi.advanceTimersByTimeAsync(ms - 1);
      expect(breaker.state).toBe('open');
      await vi.advanceTimersByTimeAsync(1);
      expect(breaker.state).toBe('half-open');
    });

    it(`a ${ms} ms queueTimeout keeps a call queued until then`, async () => {
      vi.useFakeTimers();
      const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 1, queueTimeout: ms });
      void bulkhead.execute(hang);
      const queued = track(bulkhead.execute(() => 'ran'));
      await vi.advanceTimersByTimeAsync(ms - 1);
      expect(queued.settled).toBe(0);
      await vi.advanceTimersByTimeAsync(1);
      expect(queued.error).toBeInstanceOf(BulkheadRejectedError);
    });

    it(`a ${ms} ms rate-limiter interval hands out the next token only then`, async () => {
      vi.useFakeTimers();
      const limiter = new RateLimiter({ limit: 1, interval: ms, maxWait: Infinity });
      await limiter.execute(() => 'first');
      const second = track(limiter.execute(() => 'second'));
      await vi.advanceTimersByTimeAsync(ms - 1);
      expect(second.settled).toBe(0);
      await vi.advanceTimersByTimeAsync(1);
      expect(second.value).toBe('second');
    });

    it(`a ${ms} ms chaos latency delays the call by all of it`, async () => {
      vi.useFakeTimers();
      const fn = vi.fn(() => 'late');
      const call = track(chaos({ latency: ms }).execute(fn));
      await vi.advanceTimersByTimeAsync(ms - 1);
      expect(fn).not.toHaveBeenCalled();
      await vi.advanceTimersByTimeAsync(1);
      expect(call.value).toBe('late');
    });
  }

  it('an Infinity timeout never fires and sets no timer', async () => {
    vi.useFakeTimers();
    const call = track(withTimeout(Infinity).execute(hang));
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(2 ** 40);
    expect(call.settled).toBe(0);
  });

  it('a cancelled long delay leaves no timer behind', async () => {
    vi.useFakeTimers();
    const caller = new AbortController();
    const call = track(retryWithBackoff({ maxRetries: 1, initialDelay: 2 ** 33, maxDelay: Infinity, jitter: 'none' }).execute(() => Promise.reject(new Fails()), caller.signal));
    await vi.advanceTimersByTimeAsync(2 ** 32);
    caller.abort('stop');
    await call.done;
    expect(call.error).toBe('stop');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('with real timers: no TimeoutOverflowWarning, no early timeout, no early retry', async () => {
    const warnings = watchWarnings('TimeoutOverflowWarning');
    const value = await withTimeout(2 ** 31).execute(() => new Promise((resolve) => setTimeout(resolve, 10, 'in time')));
    expect(value).toBe('in time');

    const caller = new AbortController();
    setTimeout(() => caller.abort('stop'), 10);
    const fn = vi.fn(() => Promise.reject(new Fails()));
    const error = await retryWithBackoff({ maxRetries: 1, initialDelay: 2 ** 32, maxDelay: Infinity, jitter: 'none' })
      .execute(fn, caller.signal)
      .catch((e: unknown) => e);
    expect(error).toBe('stop');
    expect(fn).toHaveBeenCalledTimes(1);
    await drainMacrotasks();
    warnings.stop();
    expect(warnings.seen).toEqual([]);
  });
});
