// Failure mode: a breaker's listeners run in the middle of its transitions,
// and a listener may call reset() or isolate(). The breaker then went on with
// the transition the listener had already superseded: an `open` event after
// the circuit was reset, `halfOpen` after it was isolated, `state` reading
// 'half-open' while isolated, a rejection whose retryAfter a listener's reset
// had changed. Every event must describe the state the breaker is really in.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BrokenCircuitError, CircuitBreaker, type CircuitBreakerEvents } from '../../src/index.js';

class Down extends Error {}
const down = (): Promise<never> => Promise.reject(new Down());

/** Every event of a breaker, in order. */
function record(breaker: CircuitBreaker): string[] {
  const log: string[] = [];
  for (const name of ['stateChange', 'open', 'halfOpen', 'close', 'rejected'] as const) {
    breaker.on(name, (payload: CircuitBreakerEvents[typeof name]) => {
      const p = payload as { from?: string; to?: string; state?: string };
      log.push(name === 'stateChange' ? `${p.from}->${p.to}` : name === 'rejected' ? `rejected:${p.state}` : name);
    });
  }
  return log;
}

/** Subscribes `act` to `stateChange` into `to`, once. */
function onceInto(breaker: CircuitBreaker, to: string, act: () => void): void {
  const off = breaker.on('stateChange', (change) => {
    if (change.to !== to) return;
    off();
    act();
  });
}

describe('breaker events when a stateChange listener resets or isolates', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it('sends no open event after a listener reset the circuit it was opening', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1 });
    const log = record(breaker);
    onceInto(breaker, 'open', () => breaker.reset());
    await breaker.execute(down).catch(() => {});
    expect(log).toEqual(['closed->open', 'open->closed', 'close']);
    expect(breaker.state).toBe('closed');
  });

  it('sends no halfOpen event after a listener isolated the circuit, and state reads isolated', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, openDuration: 1_000 });
    await breaker.execute(down).catch(() => {});
    vi.advanceTimersByTime(1_000);
    let release = (): void => {};
    const log = record(breaker);
    onceInto(breaker, 'half-open', () => (release = breaker.isolate()));
    expect(breaker.state).toBe('isolated');
    expect(log).toEqual(['open->half-open', 'half-open->isolated']);
    release();
    expect(breaker.state).toBe('closed');
  });

  it('sends no close event after a listener isolated the circuit it was closing', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, openDuration: 1_000 });
    await breaker.execute(down).catch(() => {});
    vi.advanceTimersByTime(1_000);
    const log = record(breaker);
    onceInto(breaker, 'closed', () => void breaker.isolate());
    expect(await breaker.execute(() => 'trial')).toBe('trial');
    expect(breaker.state).toBe('isolated');
    // The trial's close was superseded by the isolation: no close event for it.
    expect(log).toEqual(['open->half-open', 'halfOpen', 'half-open->closed', 'closed->isolated']);
    breaker.reset();
    expect(log.slice(4)).toEqual(['isolated->closed', 'close']);
  });

  it('reset() reports the state a transition listener left, not the one before it', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, openDuration: 1_000 });
    await breaker.execute(down).catch(() => {});
    vi.advanceTimersByTime(1_000);
    const log = record(breaker);
    onceInto(breaker, 'half-open', () => void breaker.isolate());
    breaker.reset();
    expect(log).toEqual(['open->half-open', 'half-open->isolated', 'isolated->closed', 'close']);
  });

  it('a close listener may isolate: the breaker ends isolated, with every event in order', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, openDuration: 1_000 });
    await breaker.execute(down).catch(() => {});
    vi.advanceTimersByTime(1_000);
    const log = record(breaker);
    const off = breaker.on('close', () => {
      off();
      breaker.isolate();
    });
    expect(await breaker.execute(() => 'trial')).toBe('trial');
    expect(breaker.state).toBe('isolated');
    expect(log).toEqual(['open->half-open', 'halfOpen', 'half-open->closed', 'close', 'closed->isolated']);
  });

  it('a rejected listener may reset: the rejection still says what the open circuit was', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, openDuration: 10_000 });
    const cause = new Down();
    await breaker.execute(() => Promise.reject(cause)).catch(() => {});
    vi.advanceTimersByTime(4_000);
    const off = breaker.on('rejected', () => {
      off();
      breaker.reset();
    });
    const error = await breaker.execute(() => 'never').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BrokenCircuitError);
    expect(error).toMatchObject({ retryAfter: 6_000, cause });
    expect(breaker.state).toBe('closed');
    expect(await breaker.execute(() => 'ok')).toBe('ok');
  });

  it('a listener may probe with execute as the circuit turns half-open: that probe is the one trial', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, openDuration: 1_000 });
    await breaker.execute(down).catch(() => {});
    vi.advanceTimersByTime(1_000);
    let probe: Promise<unknown> | undefined;
    const log = record(breaker);
    onceInto(breaker, 'half-open', () => (probe = breaker.execute(() => 'probe')));
    const fn = vi.fn();
    // This call moves the breaker to half-open; the listener's probe takes the trial slot first.
    expect(await breaker.execute(fn).catch((e: unknown) => e)).toBeInstanceOf(BrokenCircuitError);
    expect(fn).not.toHaveBeenCalled();
    expect(await probe).toBe('probe');
    expect(breaker.state).toBe('closed');
    expect(log).toEqual(['open->half-open', 'halfOpen', 'rejected:half-open', 'half-open->closed', 'close']);
  });
});
