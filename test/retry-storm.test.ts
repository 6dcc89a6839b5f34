import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { runStorm } from '../examples/storm-scenario.js';

beforeEach(() => {
  vi.useFakeTimers();
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
async function advance(ms: number): Promise<void> {
  for (let t = 0; t < ms; t += 10) {
    vi.advanceTimersByTime(10);
    for (let turn = 0; turn < 20; turn++) await undefined;
  }
}

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

  it('with a budget per client, the floor counts once per client: lower it for small clients', async () => {
    const generous = await runStorm({ ...fleet, budget: 'per-client', minRetriesPerSecond: 10 }, advance);
    const lean = await runStorm({ ...fleet, budget: 'per-client', minRetriesPerSecond: 0.5 }, advance);
    expect(generous.amplification).toBeGreaterThan(3.5); // a floor of 10 retries/s vs 1 call/s is no limit
    expect(lean.amplification).toBeLessThan(1.8);
  });
});
