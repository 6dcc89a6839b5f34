// Failure mode: the moment an open breaker becomes due, every waiting caller
// checks "is it time?" before any of them records that a trial started, so
// thousands of "trial" calls reach a service that is still recovering.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BrokenCircuitError, CircuitBreaker, retryWithBackoff, wrap } from '../../src/index.js';
import { track } from './fixtures/watch.js';

class Down extends Error {}

const CALLERS = 10_000;

async function openFor(breaker: CircuitBreaker, ms: number): Promise<void> {
  await breaker.execute(() => Promise.reject(new Down())).catch(() => {});
  expect(breaker.state).toBe('open');
  await vi.advanceTimersByTimeAsync(ms);
}

describe('half-open', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  for (const halfOpenMaxCalls of [1, 3, 50]) {
    it(`admits ${halfOpenMaxCalls} trial(s) of ${CALLERS} callers arriving the moment it becomes due`, async () => {
      const breaker = new CircuitBreaker({ failureThreshold: 1, openDuration: 1_000, halfOpenMaxCalls, successThreshold: halfOpenMaxCalls });
      await openFor(breaker, 1_000); // due now; nobody has read `state` yet
      let running = 0;
      let admitted = 0;
      const release: Array<() => void> = [];
      const calls = Array.from({ length: CALLERS }, () =>
        track(
          breaker.execute(
            () =>
              new Promise<string>((resolve) => {
                running++;
                admitted++;
                release.push(() => {
                  running--;
                  resolve('ok');
                });
              }),
          ),
        ),
      );
      await vi.advanceTimersByTimeAsync(0);
      expect(admitted).toBe(halfOpenMaxCalls);
      expect(running).toBe(halfOpenMaxCalls);
      const rejected = calls.filter((c) => c.error instanceof BrokenCircuitError);
      expect(rejected).toHaveLength(CALLERS - halfOpenMaxCalls);
      expect(breaker.state).toBe('half-open');
      for (const r of release) r();
      await vi.advanceTimersByTimeAsync(0);
      expect(breaker.state).toBe('closed');
    });
  }

  it('keeps at most halfOpenMaxCalls trials running while trials finish and callers keep coming', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, openDuration: 1_000, halfOpenMaxCalls: 3, successThreshold: 20 });
    await openFor(breaker, 1_000);
    let running = 0;
    let peak = 0;
    let admitted = 0;
    const trial = () =>
      new Promise<string>((resolve) => {
        running++;
        admitted++;
        peak = Math.max(peak, running);
        setTimeout(() => {
          running--;
          resolve('ok');
        }, 1 + (admitted % 7));
      });
    // 1000 callers every ms until the breaker closes.
    for (let ms = 0; breaker.state === 'half-open' && ms < 200; ms++) {
      for (let i = 0; i < 1_000; i++) breaker.execute(trial).catch(() => {});
      await vi.advanceTimersByTimeAsync(1);
    }
    expect(breaker.state).toBe('closed');
    expect(peak).toBe(3);
    expect(admitted).toBeGreaterThanOrEqual(20);
  });

  it('a retry around the breaker does not turn rejected callers into extra trials', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, openDuration: 1_000 });
    const pipeline = wrap(retryWithBackoff({ maxRetries: 5, initialDelay: 0 }), breaker);
    await openFor(breaker, 1_000);
    let admitted = 0;
    const calls = Array.from({ length: 1_000 }, () =>
      track(
        pipeline.execute(() => {
          admitted++;
          return new Promise(() => {});
        }),
      ),
    );
    await vi.advanceTimersByTimeAsync(10);
    expect(admitted).toBe(1);
    expect(calls.filter((c) => c.error instanceof BrokenCircuitError)).toHaveLength(999);
  });
});
