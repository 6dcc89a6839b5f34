// Contract: "withTimeout(ms, options?)" and "withFallback(fallback, options?)" — exercised against dist/.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { settle, untilAborted } from '../helpers/settle.js';
import { lib } from './dist.js';

const { withTimeout, withFallback, wrap, TimeoutError } = lib;

const realSetImmediate = globalThis.setImmediate;

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  expect(vi.getTimerCount()).toBe(0);
  vi.useRealTimers();
});

const after = <T>(ms: number, value: T): Promise<T> => new Promise((resolve) => setTimeout(() => resolve(value), ms));

describe('withTimeout', () => {
  it("strategy defaults to 'aggressive': rejects with the TimeoutError at the deadline, whatever fn does", async () => {
    let signal: AbortSignal | undefined;
    const call = settle(
      withTimeout(100).execute((ctx) => {
        signal = ctx.signal;
        return new Promise(() => {}); // ignores its signal, never settles
      }),
    );
    await vi.advanceTimersByTimeAsync(99);
    expect(call.state().status).toBe('pending');
    await vi.advanceTimersByTimeAsync(1);
    expect(call.state()).toEqual({ status: 'rejected', reason: signal?.reason });
    expect(signal?.reason).toBeInstanceOf(TimeoutError);
    expect(signal?.reason).toMatchObject({ name: 'TimeoutError', timeout: 100 });
  });

  it('at the deadline ctx.signal aborts with a TimeoutError as its reason', async () => {
    for (const strategy of ['aggressive', 'cooperative'] as const) {
      let signal: AbortSignal | undefined;
      settle(
        withTimeout(30, { strategy }).execute((ctx) => {
          signal = ctx.signal;
          return untilAborted(ctx);
        }),
      );
      await vi.advanceTimersByTimeAsync(30);
      expect(signal?.aborted).toBe(true);
      expect(signal?.reason).toBeInstanceOf(TimeoutError);
    }
  });

  it("'cooperative' waits for fn to settle: a value is returned", async () => {
    const call = settle(withTimeout(30, { strategy: 'cooperative' }).execute(() => after(50, 'value')));
    await vi.advanceTimersByTimeAsync(30);
    expect(call.state().status).toBe('pending');
    await vi.advanceTimersByTimeAsync(20);
    expect(call.state()).toEqual({ status: 'fulfilled', value: 'value' });
  });

  it("'cooperative': an error becomes TimeoutError with the error as cause", async () => {
    const failure = new Error('cancelled by driver');
    const call = settle(
      withTimeout(30, { strategy: 'cooperative' }).execute(({ signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(failure)))),
    );
    await vi.advanceTimersByTimeAsync(30);
    const state = call.state() as { status: string; reason: InstanceType<typeof TimeoutError> };
    expect(state.status).toBe('rejected');
    expect(state.reason).toBeInstanceOf(TimeoutError);
    expect(state.reason.cause).toBe(failure);
    expect(state.reason.timeout).toBe(30);
  });

  it('a call that ends before the deadline leaves no timer behind and does not abort ctx.signal afterwards', async () => {
    for (const strategy of ['aggressive', 'cooperative'] as const) {
      let signal: AbortSignal | undefined;
      const value = await withTimeout(1_000, { strategy }).execute((ctx) => {
        signal = ctx.signal;
        return 'fast';
      });
      expect(value).toBe('fast');
      expect(vi.getTimerCount()).toBe(0);
      await vi.advanceTimersByTimeAsync(5_000);
      expect(signal?.aborted).toBe(false);
    }
  });

  it('an abandoned call that rejects after an aggressive timeout is not an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const listener = (reason: unknown): void => {
      unhandled.push(reason);
    };
    process.on('unhandledRejection', listener);
    try {
      const call = settle(withTimeout(10).execute(() => new Promise((_, reject) => setTimeout(() => reject(new Error('late')), 40))));
      await vi.advanceTimersByTimeAsync(50);
      expect(call.state()).toMatchObject({ status: 'rejected', reason: { name: 'TimeoutError' } });
      await new Promise((resolve) => realSetImmediate(resolve));
      await new Promise((resolve) => realSetImmediate(resolve));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', listener);
    }
  });

  it('emits timeout { timeout }', async () => {
    const timeout = withTimeout(25);
    const seen: unknown[] = [];
    timeout.on('timeout', (p) => seen.push(p));
    settle(timeout.execute(untilAborted));
    await vi.advanceTimersByTimeAsync(25);
    await timeout.execute(() => 'fast');
    expect(seen).toEqual([{ timeout: 25 }]);
  });

  it('rejects bad arguments at creation, naming them', () => {
    expect(() => withTimeout(-1)).toThrow(RangeError);
    expect(() => withTimeout('1' as never)).toThrow(TypeError);
    expect(() => withTimeout(10, { strategy: 'optimistic' as never })).toThrow(/strategy/);
  });
});

describe('withFallback', () => {
  it('a fallback value replaces a handled failure', async () => {
    await expect(withFallback('cached').execute(() => Promise.reject(new Error('down')))).resolves.toBe('cached');
    await expect(withFallback('cached').execute(() => 'live')).resolves.toBe('live');
  });

  it('a function (outcome, ctx) => value | Promise<value> is called on a handled failure', async () => {
    const failure = new Error('down');
    const seen: unknown[] = [];
    const policy = withFallback(async (outcome, ctx) => {
      seen.push(outcome, ctx.attempt);
      return 'computed';
    });
    await expect(policy.execute(() => Promise.reject(failure))).resolves.toBe('computed');
    expect(seen).toEqual([{ error: failure }, 1]);
  });

  it('options: handle picks which errors, handleResult which values (none by default)', async () => {
    const policy = withFallback('fb', { handle: (e) => e instanceof TypeError, handleResult: (v) => v === 503 });
    await expect(policy.execute(() => Promise.reject(new TypeError('net')))).resolves.toBe('fb');
    const other = new RangeError('not handled');
    await expect(policy.execute(() => Promise.reject(other))).rejects.toBe(other);
    await expect(policy.execute(() => 503)).resolves.toBe('fb');
    await expect(withFallback('fb').execute(() => 503)).resolves.toBe(503);
  });

  it("an abort caused by the caller's own signal is never replaced by a fallback", async () => {
    const reason = new Error('user cancelled');
    const fn = vi.fn();
    await expect(withFallback('fb').execute(fn, AbortSignal.abort(reason))).rejects.toBe(reason);
    expect(fn).not.toHaveBeenCalled();

    const controller = new AbortController();
    const call = settle(withFallback('fb', { handle: () => true }).execute(untilAborted, controller.signal));
    controller.abort(reason);
    await vi.advanceTimersByTimeAsync(0);
    expect(call.state()).toEqual({ status: 'rejected', reason });
  });

  it("a timeout's TimeoutError inside it is a failure it replaces", async () => {
    const call = settle(wrap(withFallback('fb'), withTimeout(20)).execute(untilAborted));
    await vi.advanceTimersByTimeAsync(20);
    expect(call.state()).toEqual({ status: 'fulfilled', value: 'fb' });
  });

  it('emits fallback { error } or { value }', async () => {
    const policy = withFallback('fb', { handleResult: (v) => v === 'bad' });
    const seen: unknown[] = [];
    policy.on('fallback', (p) => seen.push(p));
    const failure = new Error('x');
    await policy.execute(() => Promise.reject(failure));
    await policy.execute(() => 'bad');
    expect(seen).toEqual([{ error: failure }, { value: 'bad' }]);
  });

  it('rejects bad options at creation, naming them', () => {
    expect(() => withFallback(1, { handle: 1 as never })).toThrow(TypeError);
    expect(() => withFallback(1, { handleResult: 1 as never })).toThrow(/handleResult/);
  });
});
