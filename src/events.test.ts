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

  it('refuses an event name it does not have, naming it and the nearest one', () => {
    const probe = new Probe();
    expect(() => probe.on('pings' as never, () => {})).toThrow(new TypeError("on: unknown event 'pings', did you mean 'ping'?"));
    expect(() => probe.on('nope' as never, () => {})).toThrow(new TypeError("on: unknown event 'nope'"));
  });

  it('refuses an event that is not a string with a TypeError, whatever it is', () => {
    const probe = new Probe();
    for (const event of [5, null, undefined, {}, ['ping'], Symbol('ping')]) {
      expect(() => probe.on(event as never, () => {}), String(event)).toThrow(/^on: unknown event /);
    }
  });

  it("refuses Object.prototype's names instead of crashing on them or listening to nothing", () => {
    const probe = new Probe();
    for (const event of ['toString', '__proto__', 'constructor', 'hasOwnProperty']) {
      expect(() => probe.on(event as never, () => {}), event).toThrow(`on: unknown event '${event}'`);
    }
  });

  it('calls a function subscribed twice twice, until each subscription is removed', () => {
    const probe = new Probe();
    const listener = vi.fn();
    const offA = probe.on('ping', listener);
    const offB = probe.on('ping', listener);
    probe.fire('ping', { n: 1 });
    expect(listener).toHaveBeenCalledTimes(2);
    offA();
    offA(); // harmless: it must not remove the other subscription
    probe.fire('ping', { n: 2 });
    expect(listener).toHaveBeenCalledTimes(3);
    offB();
    probe.fire('ping', { n: 3 });
    expect(listener).toHaveBeenCalledTimes(3);
    expect(probe.has('ping')).toBe(false);
  });

  it('a listener that subscribes another during an emit does not run it in that emit', () => {
    const probe = new Probe();
    const late = vi.fn();
    probe.on('ping', () => {
      probe.on('ping', late);
    });
    probe.fire('ping', { n: 1 });
    expect(late).not.toHaveBeenCalled();
    probe.fire('ping', { n: 2 });
    expect(late).toHaveBeenCalledTimes(1);
  });
});

describe('an async listener that rejects', () => {
  // Real timers: Node reports an unhandled rejection after a macrotask, not on a fake clock.
  async function unhandledDuring(body: () => void | Promise<void>): Promise<unknown[]> {
    const seen: unknown[] = [];
    const record = (reason: unknown): void => {
      seen.push(reason);
    };
    process.on('unhandledRejection', record);
    try {
      await body();
      await new Promise((resolve) => setTimeout(resolve, 20));
    } finally {
      process.off('unhandledRejection', record);
    }
    return seen;
  }

  it('is swallowed like a throw: no unhandled rejection, the listeners after it still run', async () => {
    const probe = new Probe();
    const after = vi.fn();
    probe.on('ping', async () => {
      throw new Error('async listener bug');
    });
    probe.on('ping', after);
    const unhandled = await unhandledDuring(() => probe.fire('ping', { n: 1 }));
    expect(unhandled).toEqual([]);
    expect(after).toHaveBeenCalledTimes(1);
  });

  it('never changes the outcome of a call, and leaves no unhandled rejection behind', async () => {
    const retry = retryWithBackoff({ maxRetries: 1, initialDelay: 1, jitter: 'none' });
    retry.on('retry', async () => Promise.reject(new Error('metrics backend down')));
    retry.on('success', async () => Promise.reject(new Error('metrics backend down')));
    let calls = 0;
    let result: unknown;
    const unhandled = await unhandledDuring(async () => {
      result = await retry.execute(() => (++calls === 1 ? Promise.reject(new Error('flaky')) : 'ok'));
    });
    expect(result).toBe('ok');
    expect(unhandled).toEqual([]);
  });

  it('ignores what a listener returns when it is no promise, and a thenable whose `catch` throws', async () => {
    const probe = new Probe();
    const after = vi.fn();
    probe.on('ping', (() => 42) as never);
    probe.on('ping', (() => null) as never);
    probe.on('ping', (() => ({
      catch() {
        throw new Error('odd thenable');
      },
    })) as never);
    probe.on('ping', after);
    expect(() => probe.fire('ping', { n: 1 })).not.toThrow();
    expect(after).toHaveBeenCalledTimes(1);
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
