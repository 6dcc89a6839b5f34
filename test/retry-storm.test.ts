import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { runStorm } from '../examples/storm-scenario.js';

beforeEach(() => {
  vi.useFakeTimers();
  // The memory store's clock (Date.now) on a whole second, as npm run storm's: the same figures every run.
  vi.setSystemTime(1_700_000_000_000);
});
afterEach(() => {
  expect(vi.getTimerCount()).toBe(0);
  vi.useRealTimers();
});

// advanceTimersByTimeAsync yields a real macrotask per timer, slow for the
// thousands of timers of a storm. Every timer here falls on a 10 ms grid
// (clients start 10 ms apart, call once a second, back off 100/200/400 ms), so
// the clock moves 10 ms at a time and the promise chains of each step settle
// (a retry cycle takes a few microtask turns) before the next: every timer
// still fires exactly on time.
function advanceBy(step: number): (ms: number) => Promise<void> {
  return async (ms) => {
    for (let t = 0; t < ms; t += step) {
      vi.advanceTimersByTime(step);
      for (let turn = 0; turn < 20; turn++) await undefined;
    }
  };
}
const advance = advanceBy(10);

// 100 clients, 1 call a second each (100 calls/s), 2 s healthy, then 10 s of
// 100% failures; every client retries up to 3 times. (`npm run storm` runs the
// same scenario at 500 calls/s on a virtual clock and prints the figures.)
const fleet = { clients: 100, interval: 1_000, healthy: 2_000, outage: 10_000, maxRetries: 3 } as const;

describe('a retry storm', { timeout: 30_000 }, () => {
  it('without a budget, multiplies the load on a failing service by maxRetries + 1', async () => {
    const report = await runStorm({ ...fleet, budget: 'none' }, advance);
    expect(report.healthyRate).toBe(100);
    expect(report.firstAttempts).toBe(1_000);
    // Calls that start in the last 0.7 s of the outage retry after it ended.
    expect(report.amplification).toBeGreaterThan(3.8);
    expect(report.amplification).toBeLessThanOrEqual(4);
    expect(report.peak).toBe(4);
    expect(report.refused).toBe(0);
  });

  it('with one shared RetryBudget, holds it to 1 + ratio plus the floor', async () => {
    const report = await runStorm({ ...fleet, budget: 'shared', ratio: 0.2, minRetriesPerSecond: 10 }, advance);
    expect(report.firstAttempts).toBe(1_000);
    // The budget's 10 s window also held the healthy seconds' first attempts, and a floor of
    // 10/s × 10 s: retries <= 0.2 × (1 000 + 200) + 100 = 340 at the very most.
    expect(report.retries).toBeLessThanOrEqual(340);
    expect(report.retries).toBeGreaterThanOrEqual(300); // the budget is spent, not hoarded
    expect(report.amplification).toBeLessThanOrEqual(1.34);
    expect(report.refused).toBeGreaterThan(600);
  });

  it('with a budget per client sharing one store and key, holds the fleet to 1 + ratio plus one floor', async () => {
    // npm run storm's fleet row: 500 calls/s (clients 2 ms apart), 100 RetryBudget objects
    // on one createMemoryStore() and key. Per-client budgets give 3.2× here (11 000 retries).
    const report = await runStorm({ ...fleet, interval: 200, budget: 'fleet', ratio: 0.2, minRetriesPerSecond: 10 }, advanceBy(2));
    expect(report.healthyRate).toBe(500);
    expect(report.firstAttempts).toBe(5_000);
    expect(report.amplification).toBeLessThanOrEqual(1.3);
    // One shared RetryBudget object allows 1 100 here (0.2 × 5 000 + the floor, 100 per window);
    // the store's buckets start on its own clock, not on the outage's first second.
    expect(report.retries).toBeGreaterThanOrEqual(1_000); // spent, not hoarded
    expect(report.retries).toBeLessThanOrEqual(1_250);
    expect(report.refused).toBeGreaterThan(4_500);
  });

  it('with a budget per client, the floor counts once per client: lower it for small clients', async () => {
    const generous = await runStorm({ ...fleet, budget: 'per-client', minRetriesPerSecond: 10 }, advance);
    const lean = await runStorm({ ...fleet, budget: 'per-client', minRetriesPerSecond: 0.5 }, advance);
    expect(generous.amplification).toBeGreaterThan(3.5); // a floor of 10 retries/s vs 1 call/s is no limit
    expect(lean.amplification).toBeLessThan(1.8);
  });
});
