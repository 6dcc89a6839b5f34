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

  // Failure mode: with no open wait, a trial that has just started already
  // "has hung for a whole open wait", so each caller writes off the trials
  // before it and becomes a trial itself.
  const noWait: [string, number | ((opens: number) => number)][] = [
    ['openDuration: 0', 0],
    ['openDuration(opens) returning 0', () => 0],
    ['openDuration(opens) returning NaN', () => NaN],
    ['openDuration(opens) returning a negative number', () => -1_000],
    ['openDuration(opens) returning no number', () => undefined as unknown as number],
  ];
  for (const [name, openDuration] of noWait) {
    for (const halfOpenMaxCalls of [1, 3]) {
      it(`admits ${halfOpenMaxCalls} trial(s) of 1 000 callers with ${name}, however time passes`, async () => {
        const breaker = new CircuitBreaker({ failureThreshold: 1, openDuration, halfOpenMaxCalls });
        await breaker.execute(() => Promise.reject(new Down())).catch(() => {});
        expect(breaker.state).toBe('half-open');
        let admitted = 0;
        const hang = (): Promise<never> => (admitted++, new Promise<never>(() => {}));
        const calls: ReturnType<typeof track>[] = [];
        // Callers arrive together, then one every 20 ms for 10 s: trials that
        // started a moment ago have not hung.
        for (let i = 0; i < 500; i++) calls.push(track(breaker.execute(hang)));
        for (let i = 0; i < 500; i++) {
          await vi.advanceTimersByTimeAsync(20);
          calls.push(track(breaker.execute(hang)));
        }
        await vi.advanceTimersByTimeAsync(0);
        expect(admitted).toBe(halfOpenMaxCalls);
        expect(calls.filter((c) => c.error instanceof BrokenCircuitError)).toHaveLength(1_000 - halfOpenMaxCalls);
        expect(breaker.state).toBe('half-open');
      });
    }
  }

  it('with no open wait, still replaces a hung trial, after the default 30 s', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, openDuration: 0 });
    await breaker.execute(() => Promise.reject(new Down())).catch(() => {});
    let admitted = 0;
    const hang = (): Promise<never> => (admitted++, new Promise<never>(() => {}));
    void track(breaker.execute(hang));
    await vi.advanceTimersByTimeAsync(29_999);
    const rejected = track(breaker.execute(hang));
    await vi.advanceTimersByTimeAsync(0);
    expect(rejected.error).toMatchObject({ name: 'BrokenCircuitError', retryAfter: 1 });
    await vi.advanceTimersByTimeAsync(1);
    expect(await breaker.execute(() => 'ok')).toBe('ok');
    expect(admitted).toBe(1);
    expect(breaker.state).toBe('closed');
  });

  it('replaces a hung trial after exactly openDuration when the wait is positive', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, openDuration: 5 });
    await openFor(breaker, 5);
    void track(breaker.execute(() => new Promise(() => {})));
    await vi.advanceTimersByTimeAsync(4);
    expect(await breaker.execute(() => 'ok').catch((error: unknown) => error)).toBeInstanceOf(BrokenCircuitError);
    await vi.advanceTimersByTimeAsync(1);
    expect(await breaker.execute(() => 'ok')).toBe('ok');
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
