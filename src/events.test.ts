import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Emitter } from './events.js';
import { retryWithBackoff } from './retry.js';
import { withTimeout } from './timeout.js';
import { withFallback } from './fallback.js';

interface TestEvents {
  ping: { readonly n: number };
  pong: Record<never, never>;
}

class Probe extends Emitter<TestEvents> {
  constructor() {
    super('ping pong');
  }
  fire<K extends keyof TestEvents>(event: K, payload: TestEvents[K]): void {
    this.emit(event, payload);
  }
  has(event: keyof TestEvents): boolean {
    return this.listeners[event] !== undefined;
  }
}

describe('Emitter', () => {
  it('calls every listener of an event in the order they subscribed, with the payload', () => {
    const probe = new Probe();
    const seen: string[] = [];
    probe.on('ping', ({ n }) => seen.push(`a${n}`));
    probe.on('ping', ({ n }) => seen.push(`b${n}`));
    probe.on('pong', () => seen.push('pong'));
    probe.fire('ping', { n: 1 });
    expect(seen).toEqual(['a1', 'b1']);
  });

  it('unsubscribes with the returned function; a second call is harmless', () => {
    const probe = new Probe();
    const listener = vi.fn();
    const other = vi.fn();
    const off = probe.on('ping', listener);
    probe.on('ping', other);
    off();
    off();
    probe.fire('ping', { n: 1 });
    expect(listener).not.toHaveBeenCalled();
    expect(other).toHaveBeenCalledTimes(1);
  });

  it('drops the event entry once its last listener leaves, so emit costs nothing again', () => {
    const probe = new Probe();
    expect(probe.has('ping')).toBe(false);
    const off = probe.on('ping', () => {});
    expect(probe.has('ping')).toBe(true);
    off();
    expect(probe.has('ping')).toBe(false);
  });

  it('removes only one registration when the same function subscribed twice', () => {
    const probe = new Probe();
    const listener = vi.fn();
    const off = probe.on('ping', listener);
    probe.on('ping', listener);
    off();
    probe.fire('ping', { n: 1 });
    expect(listener).toHaveBeenCalledTimes(1);
  });

  it('swallows a throwing listener and still calls the ones after it', () => {
    const probe = new Probe();
    const after = vi.fn();
    probe.on('ping', () => {
      throw new Error('listener bug');
    });
    probe.on('ping', after);
    expect(() => probe.fire('ping', { n: 1 })).not.toThrow();
    expect(after).toHaveBeenCalledWith({ n: 1 });
  });

  it('lets a listener unsubscribe itself or another during an emit without skipping anyone in that emit', () => {
    const probe = new Probe();
    const seen: string[] = [];
    let offB = (): void => {};
    const offA = probe.on('ping', () => {
      seen.push('a');
      offA();
      offB();
    });
    offB = probe.on('ping', () => seen.push('b'));
    probe.fire('ping', { n: 1 });
    probe.fire('ping', { n: 2 });
    expect(seen).toEqual(['a', 'b']);
  });

  it('rejects a listener that is not a function with a TypeError', () => {
    const probe = new Probe();
    expect(() => probe.on('ping', 'nope' as never)).toThrow(TypeError);
  });
});

describe('a throwing listener never changes the outcome of a call', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());
  const boom = (): never => {
    throw new Error('listener bug');
  };

  it('retry: retry, giveUp and success listeners that throw', async () => {
    const retry = retryWithBackoff({ maxRetries: 1, initialDelay: 10, jitter: 'none' });
    retry.on('retry', boom);
    retry.on('giveUp', boom);
    retry.on('success', boom);
    let calls = 0;
    const ok = retry.execute(() => (++calls === 1 ? Promise.reject(new Error('flaky')) : 'ok'));
    await vi.advanceTimersByTimeAsync(10);
    await expect(ok).resolves.toBe('ok');
    const failure = new Error('always');
    const failed = retry.execute(() => Promise.reject(failure));
    failed.catch(() => {});
    await vi.advanceTimersByTimeAsync(10);
    await expect(failed).rejects.toBe(failure);
  });

  it('timeout: a timeout listener that throws', async () => {
    const timeout = withTimeout(50);
    timeout.on('timeout', boom);
    const call = timeout.execute(() => new Promise(() => {}));
    call.catch(() => {});
    await vi.advanceTimersByTimeAsync(50);
    await expect(call).rejects.toMatchObject({ name: 'TimeoutError', timeout: 50 });
  });

  it('fallback: a fallback listener that throws', async () => {
    const fallback = withFallback('spare');
    fallback.on('fallback', boom);
    await expect(fallback.execute(() => Promise.reject(new Error('down')))).resolves.toBe('spare');
  });
});
