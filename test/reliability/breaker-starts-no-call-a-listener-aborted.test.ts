// Failure mode: a breaker's `halfOpen` or `stateChange` listener runs inside
// `execute`, before the call is admitted. When that listener aborts the
// caller's signal (a shutdown hook, a "stop probing" switch), the breaker went
// on and ran the call anyway, as a trial, against a service the caller had
// already given up on.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CircuitBreaker, wrap, withTimeout } from '../../src/index.js';

class Down extends Error {}

async function dueForTrial(options: ConstructorParameters<typeof CircuitBreaker>[0] = {}): Promise<CircuitBreaker> {
  const breaker = new CircuitBreaker({ failureThreshold: 1, openDuration: 1_000, ...options });
  await breaker.execute(() => Promise.reject(new Down())).catch(() => {});
  vi.advanceTimersByTime(1_000); // due: the next call (or read of `state`) moves it to half-open
  return breaker;
}

describe('a breaker whose listener aborts the call it is admitting', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  for (const event of ['halfOpen', 'stateChange'] as const) {
    it(`does not run the trial when a ${event} listener aborts the caller, and keeps the slot free`, async () => {
      const breaker = await dueForTrial();
      const controller = new AbortController();
      const reason = new Error('shutting down');
      const off = breaker.on(event, () => controller.abort(reason));
      const fn = vi.fn(() => 'ran');
      await expect(breaker.execute(fn, controller.signal)).rejects.toBe(reason);
      expect(fn).not.toHaveBeenCalled();
      off();
      // Counted nothing, neither a rejection nor a trial (the one call is the failure that
      // opened the circuit): the next caller is the trial.
      expect(breaker.stats()).toMatchObject({ state: 'half-open', calls: 1, failures: 1, rejections: 0 });
      expect(await breaker.execute(() => 'trial')).toBe('trial');
      expect(breaker.state).toBe('closed');
    });
  }

  it('does not run the call when the listener also closed the circuit', async () => {
    const breaker = await dueForTrial();
    const controller = new AbortController();
    breaker.on('halfOpen', () => {
      breaker.reset();
      controller.abort(new Error('stop'));
    });
    const fn = vi.fn();
    await expect(breaker.execute(fn, controller.signal)).rejects.toThrow('stop');
    expect(fn).not.toHaveBeenCalled();
    expect(breaker.stats()).toMatchObject({ state: 'closed', calls: 0 });
  });

  it('does not run the trial when the listener aborts through an enclosing timeout\'s caller signal', async () => {
    const breaker = await dueForTrial();
    const controller = new AbortController();
    breaker.on('halfOpen', () => controller.abort(new Error('gone')));
    const fn = vi.fn();
    await expect(wrap(withTimeout(5_000), breaker).execute(fn, controller.signal)).rejects.toThrow('gone');
    expect(fn).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(0);
    expect(await breaker.execute(() => 'trial')).toBe('trial');
  });

  it('still admits the call whose listener left it alone', async () => {
    const breaker = await dueForTrial();
    const controller = new AbortController();
    const seen: string[] = [];
    breaker.on('halfOpen', () => seen.push('halfOpen'));
    expect(await breaker.execute(() => 'trial', controller.signal)).toBe('trial');
    expect(seen).toEqual(['halfOpen']);
    expect(breaker.state).toBe('closed');
  });
});
