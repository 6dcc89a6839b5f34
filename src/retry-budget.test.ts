import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RetryBudget } from './retry-budget.js';
import { retryWithBackoff } from './retry.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

function firsts(budget: RetryBudget, n: number): void {
  for (let i = 0; i < n; i++) budget.onFirstAttempt();
}

function retriesAllowed(budget: RetryBudget, max = 10_000): number {
  let n = 0;
  while (n < max && budget.tryRetry()) n++;
  return n;
}

describe('RetryBudget', () => {
  it('allows ratio × first attempts retries in the window when the floor is 0', () => {
    const budget = new RetryBudget({ ratio: 0.2, minRetriesPerSecond: 0 });
    firsts(budget, 100);
    expect(retriesAllowed(budget)).toBe(20);
    expect(budget.tryRetry()).toBe(false);
  });

  it('allows minRetriesPerSecond × window seconds retries with no traffic at all', () => {
    const budget = new RetryBudget({ minRetriesPerSecond: 10, window: 10_000 });
    expect(retriesAllowed(budget)).toBe(100);
  });

  it('adds the floor to the ratio', () => {
    const budget = new RetryBudget({ ratio: 0.5, minRetriesPerSecond: 1, window: 2_000 });
    firsts(budget, 10);
    expect(retriesAllowed(budget)).toBe(7);
  });

  it('never refuses first attempts, and counts them even while retries are refused', () => {
    const budget = new RetryBudget({ ratio: 0.1, minRetriesPerSecond: 0 });
    expect(budget.tryRetry()).toBe(false);
    firsts(budget, 10);
    expect(budget.tryRetry()).toBe(true);
    expect(budget.tryRetry()).toBe(false);
    expect(budget.stats()).toEqual({ firstAttempts: 10, retries: 1, refused: 2, available: 0 });
  });

  it('forgets first attempts and retries once they slide out of the window', () => {
    const budget = new RetryBudget({ ratio: 1, minRetriesPerSecond: 0, window: 1_000 });
    firsts(budget, 5);
    expect(retriesAllowed(budget)).toBe(5);
    vi.advanceTimersByTime(500);
    firsts(budget, 2);
    expect(retriesAllowed(budget)).toBe(2);
    // The first five (and their retries) expire; the later two remain.
    vi.advanceTimersByTime(600);
    expect(budget.stats()).toMatchObject({ firstAttempts: 2, retries: 2, available: 0 });
    vi.advanceTimersByTime(500);
    expect(budget.stats()).toMatchObject({ firstAttempts: 0, retries: 0, refused: 0 });
  });

  it('slides in tenths of the window: an attempt leaves between 0.9 and 1 window later', () => {
    vi.advanceTimersByTime(1_000 - (performance.now() % 1_000)); // align to the start of a bucket
    const budget = new RetryBudget({ ratio: 1, minRetriesPerSecond: 0, window: 1_000 });
    vi.advanceTimersByTime(50);
    firsts(budget, 1); // in the middle of its 100 ms bucket
    vi.advanceTimersByTime(949);
    expect(budget.stats().firstAttempts).toBe(1);
    vi.advanceTimersByTime(1); // 950 ms later its bucket leaves the window whole
    expect(budget.stats().firstAttempts).toBe(0);
  });

  it('starts from empty after an idle gap far longer than the window', () => {
    const budget = new RetryBudget({ ratio: 0.5, minRetriesPerSecond: 0, window: 1_000 });
    firsts(budget, 4);
    retriesAllowed(budget);
    vi.advanceTimersByTime(3_600_000 + 37);
    expect(budget.stats()).toEqual({ firstAttempts: 0, retries: 0, refused: 0, available: 0 });
    firsts(budget, 2);
    expect(retriesAllowed(budget)).toBe(1);
  });

  it('keeps exact totals over many window turns of steady traffic', () => {
    const budget = new RetryBudget({ ratio: 0.2, minRetriesPerSecond: 0, window: 1_000 });
    // 10 first attempts every 50 ms for 10 windows; at most 20% retries any time.
    let allowed = 0;
    for (let t = 0; t < 10_000; t += 50) {
      firsts(budget, 10);
      allowed += retriesAllowed(budget);
      const s = budget.stats();
      expect(s.retries).toBeLessThanOrEqual(0.2 * s.firstAttempts);
      vi.advanceTimersByTime(50);
    }
    // In the steady state each 50 ms step frees what the step leaving the window had spent.
    expect(allowed).toBe(2_000 * 0.2);
  });

  it('rejects bad options naming the option', () => {
    expect(() => new RetryBudget({ ratio: -1 })).toThrow(/ratio/);
    expect(() => new RetryBudget({ minRetriesPerSecond: Number.NaN })).toThrow(RangeError);
    expect(() => new RetryBudget({ window: 0 })).toThrow(/window/);
    expect(() => new RetryBudget({ window: '1s' as unknown as number })).toThrow(TypeError);
    expect(() => new RetryBudget({ ratio: undefined } as never as object).ratio).not.toThrow();
    expect(new RetryBudget({ ratio: undefined } as never as object).ratio).toBe(0.2);
  });

  it('makes retryWithBackoff give up with reason "budget" when it refuses', async () => {
    const budget = new RetryBudget({ ratio: 0, minRetriesPerSecond: 0.1, window: 10_000 }); // one retry per window
    const retry = retryWithBackoff({ maxRetries: 5, jitter: 'none', initialDelay: 10, budget });
    const giveUps: unknown[] = [];
    retry.on('giveUp', (e) => giveUps.push({ attempts: e.attempts, reason: e.reason }));
    let calls = 0;
    const result = retry.execute(() => {
      calls++;
      throw new Error('down');
    });
    const settled = expect(result).rejects.toThrow('down');
    await vi.runAllTimersAsync();
    await settled;
    expect(calls).toBe(2);
    expect(giveUps).toEqual([{ attempts: 2, reason: 'budget' }]);
  });
});
