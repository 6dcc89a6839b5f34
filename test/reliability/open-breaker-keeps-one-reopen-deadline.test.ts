// Failure modes: (a) calls that were already in flight when the breaker
// opened fail one after another while it is open, and each one re-opens it,
// pushing the reopen deadline forward so it never reaches half-open; (b) a
// trial call in half-open hangs, and since no trial ever reports back the
// breaker stays half-open, rejecting everything, for ever.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BrokenCircuitError, CircuitBreaker, type CircuitState } from '../../src/index.js';
import { track } from './fixtures/watch.js';

class Down extends Error {}

const failsAfter = (ms: number) => (): Promise<never> => new Promise((_, reject) => setTimeout(() => reject(new Down()), ms));
const hang = () => new Promise<never>(() => {});

describe('a breaker hit by many concurrent failures while open', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it('keeps the reopen deadline of its first opening and reaches half-open on time', async () => {
    const openDuration = vi.fn((_opens: number) => 1_000);
    const breaker = new CircuitBreaker({ failureThreshold: 5, openDuration });
    const changes: string[] = [];
    breaker.on('stateChange', ({ from, to }) => changes.push(`${from}>${to}@${performance.now()}`));
    // 500 calls in flight; they fail at t = 1, 2, 3, ... 500 ms. The 5th failure opens it at t = 5.
    const calls = Array.from({ length: 500 }, (_, i) => track(breaker.execute(failsAfter(i + 1))));
    await vi.advanceTimersByTimeAsync(5);
    expect(breaker.state).toBe('open');

    // While open, the remaining 495 failures arrive; callers that come meanwhile all see one deadline.
    const deadlines = new Set<number>();
    for (let t = 5; t < 1_005; t += 50) {
      const error = await breaker.execute(() => 'not called').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BrokenCircuitError);
      deadlines.add(performance.now() + (error as BrokenCircuitError).retryAfter);
      await vi.advanceTimersByTimeAsync(50);
    }
    expect([...deadlines]).toEqual([1_005]);
    expect(calls.every((c) => c.error instanceof Down)).toBe(true);

    // t = 1005: exactly one openDuration after it opened.
    expect(breaker.state).toBe('half-open');
    expect(openDuration).toHaveBeenCalledTimes(1);
    expect(openDuration).toHaveBeenCalledWith(1);
    expect(changes).toEqual(['closed>open@5', 'open>half-open@1005']);
    expect(await breaker.execute(() => 'trial')).toBe('trial');
    expect(breaker.state).toBe('closed');
  });

  it('is not closed by late successes of calls from before it opened', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 2, openDuration: 1_000 });
    const late = track(breaker.execute(() => new Promise((resolve) => setTimeout(resolve, 100, 'late'))));
    await breaker.execute(() => Promise.reject(new Down())).catch(() => {});
    await breaker.execute(() => Promise.reject(new Down())).catch(() => {});
    expect(breaker.state).toBe('open');
    await vi.advanceTimersByTimeAsync(100);
    expect(late.value).toBe('late');
    expect(breaker.state).toBe('open');
    await vi.advanceTimersByTimeAsync(900);
    expect(breaker.state).toBe('half-open');
  });

  it('with a growing openDuration, counts one opening per trip, not one per late failure', async () => {
    const openDuration = vi.fn((opens: number) => 100 * 2 ** (opens - 1));
    const breaker = new CircuitBreaker({ failureThreshold: 3, openDuration });
    let openedAt = NaN;
    breaker.on('open', () => void (openedAt = performance.now()));
    for (let round = 1; round <= 4; round++) {
      // 50 calls that fail 1..50 ms later; from round 2 on only the trial gets through, fails and reopens it.
      const calls = Array.from({ length: 50 }, (_, i) => track(breaker.execute(failsAfter(i + 1))));
      await vi.advanceTimersByTimeAsync(50);
      expect(calls.filter((c) => c.error instanceof Down).length).toBe(round === 1 ? 50 : 1);
      expect(breaker.state).toBe('open');
      const wait = 100 * 2 ** (round - 1);
      await vi.advanceTimersByTimeAsync(openedAt + wait - 1 - performance.now());
      expect(breaker.state).toBe('open');
      await vi.advanceTimersByTimeAsync(1);
      expect(breaker.state).toBe('half-open');
    }
    expect(openDuration.mock.calls.map(([opens]) => opens)).toEqual([1, 2, 3, 4]);
  });
});

describe('a hung trial in half-open', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  async function halfOpen(breaker: CircuitBreaker): Promise<void> {
    await breaker.execute(() => Promise.reject(new Down())).catch(() => {});
    expect(breaker.state).toBe('open');
    await vi.advanceTimersByTimeAsync(100);
    expect(breaker.state).toBe('half-open');
  }

  it('cannot wedge it: after another openDuration a new trial is admitted, and it can close the circuit', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, openDuration: 100 });
    await halfOpen(breaker);
    const hung = track(breaker.execute(hang));
    await vi.advanceTimersByTimeAsync(50);
    await expect(breaker.execute(() => 'too soon')).rejects.toBeInstanceOf(BrokenCircuitError);
    await vi.advanceTimersByTimeAsync(50);
    expect(await breaker.execute(() => 'fresh trial')).toBe('fresh trial');
    expect(breaker.state).toBe('closed');
    expect(hung.settled).toBe(0);
  });

  it('ignores the hung trial when it finally fails after the breaker moved on', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, openDuration: 100 });
    await halfOpen(breaker);
    const slow = track(breaker.execute(failsAfter(1_000)));
    await vi.advanceTimersByTimeAsync(100);
    expect(await breaker.execute(() => 'fresh trial')).toBe('fresh trial');
    expect(breaker.state).toBe('closed');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(slow.error).toBeInstanceOf(Down);
    expect(breaker.state).toBe('closed');
  });

  it('always reaches half-open again while every trial hangs', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, openDuration: 100, halfOpenMaxCalls: 2 });
    await halfOpen(breaker);
    const seen = new Set<CircuitState>();
    let admitted = 0;
    for (let t = 0; t < 1_000; t += 10) {
      breaker
        .execute(() => {
          admitted++;
          return hang();
        })
        .catch(() => seen.add(breaker.state));
      await vi.advanceTimersByTimeAsync(10);
    }
    // Two trials per 100 ms wait: never wedged, never flooded.
    expect(admitted).toBeGreaterThanOrEqual(2 * 9);
    expect(admitted).toBeLessThanOrEqual(2 * 10 + 1);
    expect([...seen]).toEqual(['half-open']);
  });
});
