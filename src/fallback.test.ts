import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { settle, untilAborted } from '../test/helpers/settle.js';
import { BrokenCircuitError, TimeoutError } from './errors.js';
import { withFallback, type FallbackEvents } from './fallback.js';
import { wrap, type PolicyContext } from './policy.js';
import { retryWithBackoff } from './retry.js';
import { withTimeout } from './timeout.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  expect(vi.getTimerCount()).toBe(0);
  vi.useRealTimers();
});

const down = (): Promise<never> => Promise.reject(new Error('down'));

describe('withFallback: what replaces a failure', () => {
  it('answers with a fallback value when fn throws', async () => {
    await expect(withFallback('cached').execute(down)).resolves.toBe('cached');
    await expect(
      withFallback(0).execute(() => {
        throw new Error('sync');
      }),
    ).resolves.toBe(0);
  });

  it('falls back to null and undefined values too', async () => {
    await expect(withFallback(null).execute(down)).resolves.toBeNull();
    await expect(withFallback(undefined).execute(down)).resolves.toBeUndefined();
  });

  it('calls a fallback function with ({ error }, ctx) and answers with what it returns', async () => {
    const failure = new Error('db down');
    const fallback = vi.fn((outcome: unknown, ctx: PolicyContext) => ({ outcome, attempt: ctx.attempt, signal: ctx.signal }));
    const result = await withFallback(fallback).execute(() => Promise.reject(failure));
    expect(fallback).toHaveBeenCalledTimes(1);
    expect(result.outcome).toEqual({ error: failure });
    expect(result.attempt).toBe(1);
    expect(result.signal).toBeInstanceOf(AbortSignal);
  });

  it('awaits a fallback function that returns a promise', async () => {
    const call = settle(withFallback(() => new Promise<string>((resolve) => setTimeout(() => resolve('from cache'), 20))).execute(down));
    await vi.advanceTimersByTimeAsync(20);
    expect(call.state()).toEqual({ status: 'fulfilled', value: 'from cache' });
  });

  it('rejects with the error a fallback function throws', async () => {
    const broken = new Error('fallback broke');
    await expect(
      withFallback(() => {
        throw broken;
      }).execute(down),
    ).rejects.toBe(broken);
    await expect(withFallback(() => Promise.reject(broken)).execute(down)).rejects.toBe(broken);
  });

  it('falls back to a function itself when a function returns it', async () => {
    const handler = (): string => 'handler';
    await expect(withFallback(() => handler).execute(down)).resolves.toBe(handler);
  });

  it('does not call the fallback when fn succeeds', async () => {
    const fallback = vi.fn(() => 'spare');
    await expect(withFallback(fallback).execute(() => 'real')).resolves.toBe('real');
    await expect(withFallback(fallback).execute(() => Promise.resolve('real async'))).resolves.toBe('real async');
    expect(fallback).not.toHaveBeenCalled();
  });

  it('by default replaces every error, load-shedding and timeout errors included', async () => {
    const fallback = withFallback('spare');
    await expect(fallback.execute(() => Promise.reject(new BrokenCircuitError()))).resolves.toBe('spare');
    await expect(fallback.execute(() => Promise.reject(new TimeoutError()))).resolves.toBe('spare');
    await expect(fallback.execute(() => Promise.reject('a string'))).resolves.toBe('spare');
  });

  it('by default does not replace returned values', async () => {
    await expect(withFallback('spare').execute(() => ({ status: 503 }))).resolves.toEqual({ status: 503 });
  });
});

describe('withFallback: handle and handleResult', () => {
  it('replaces only the errors handle accepts; others pass straight through without an event', async () => {
    const fallback = withFallback('spare', { handle: (e) => e instanceof TypeError });
    const onFallback = vi.fn();
    fallback.on('fallback', onFallback);
    await expect(fallback.execute(() => Promise.reject(new TypeError('fetch failed')))).resolves.toBe('spare');
    const fatal = new Error('fatal');
    await expect(fallback.execute(() => Promise.reject(fatal))).rejects.toBe(fatal);
    expect(onFallback).toHaveBeenCalledTimes(1);
  });

  it('replaces the values handleResult accepts, passing { value } to a fallback function', async () => {
    const fallback = vi.fn((outcome: unknown) => ({ status: 200, from: outcome }));
    const policy = withFallback(fallback, { handleResult: (r) => (r as { status: number }).status >= 500 });
    await expect(policy.execute(() => ({ status: 503 }))).resolves.toEqual({ status: 200, from: { value: { status: 503 } } });
    await expect(policy.execute(() => ({ status: 204 }))).resolves.toEqual({ status: 204 });
    expect(fallback).toHaveBeenCalledTimes(1);
  });

  it('a handleResult that throws counts as a failure and is replaced; a handle that throws rejects with its error', async () => {
    const bug = new Error('predicate bug');
    const byResult = withFallback((outcome) => outcome, {
      handleResult: () => {
        throw bug;
      },
    });
    await expect(byResult.execute(() => 'value')).resolves.toEqual({ error: bug });
    const byError = withFallback('spare', {
      handle: () => {
        throw bug;
      },
    });
    await expect(byError.execute(down)).rejects.toBe(bug);
  });

  it('treats options set to undefined as their defaults', async () => {
    const policy = withFallback('spare', { handle: undefined, handleResult: undefined } as never);
    await expect(policy.execute(down)).resolves.toBe('spare');
    await expect(policy.execute(() => 'value')).resolves.toBe('value');
  });
});

describe("withFallback: the caller's abort is never replaced", () => {
  it('already aborted: neither fn nor the fallback is called; rejects with signal.reason', async () => {
    const reason = new Error('gone');
    const fn = vi.fn();
    const fallback = vi.fn(() => 'spare');
    await expect(withFallback(fallback).execute(fn, AbortSignal.abort(reason))).rejects.toBe(reason);
    expect(fn).not.toHaveBeenCalled();
    expect(fallback).not.toHaveBeenCalled();
  });

  it('aborted during the call: rejects with signal.reason even when handle accepts everything', async () => {
    const controller = new AbortController();
    const fallback = vi.fn(() => 'spare');
    const policy = withFallback(fallback, { handle: () => true });
    const onFallback = vi.fn();
    policy.on('fallback', onFallback);
    const call = settle(policy.execute(untilAborted, controller.signal));
    const reason = new Error('user cancelled');
    controller.abort(reason);
    await vi.advanceTimersByTimeAsync(0);
    expect(call.state()).toEqual({ status: 'rejected', reason });
    expect(fallback).not.toHaveBeenCalled();
    expect(onFallback).not.toHaveBeenCalled();
  });

  it('aborted during the call while fn fails for another reason: that failure is not replaced either', async () => {
    const controller = new AbortController();
    const call = settle(
      withFallback('spare').execute(() => new Promise((_, reject) => setTimeout(() => reject(new Error('late')), 10)), controller.signal),
    );
    controller.abort();
    await vi.advanceTimersByTimeAsync(10);
    expect(call.state()).toMatchObject({ status: 'rejected', reason: { message: 'late' } });
  });

  it('replaces a TimeoutError from a timeout inside it', async () => {
    const call = settle(wrap(withFallback('spare'), withTimeout(50)).execute(untilAborted));
    await vi.advanceTimersByTimeAsync(50);
    expect(call.state()).toEqual({ status: 'fulfilled', value: 'spare' });
  });

  it('replaces the abort of a cooperative timeout around it (a call too slow has failed), and the timeout returns that value', async () => {
    const fallback = vi.fn(() => 'spare');
    const call = settle(wrap(withTimeout(50, { strategy: 'cooperative' }), withFallback(fallback)).execute(untilAborted));
    await vi.advanceTimersByTimeAsync(50);
    expect(call.state()).toEqual({ status: 'fulfilled', value: 'spare' });
    expect(fallback).toHaveBeenCalledTimes(1);
  });

  it('does not replace the caller’s abort even when a timeout sits between them', async () => {
    const fallback = vi.fn(() => 'spare');
    const caller = new AbortController();
    const call = settle(wrap(withTimeout(50, { strategy: 'cooperative' }), withFallback(fallback)).execute(untilAborted, caller.signal));
    caller.abort(new Error('user left'));
    await vi.advanceTimersByTimeAsync(50);
    expect(call.state()).toMatchObject({ status: 'rejected', reason: { message: 'user left' } });
    expect(fallback).not.toHaveBeenCalled();
  });

  it('replaces the last error once a retry inside it gives up', async () => {
    const fn = vi.fn(down);
    const call = settle(wrap(withFallback('spare'), retryWithBackoff({ maxRetries: 2, initialDelay: 1 })).execute(fn));
    await vi.runAllTimersAsync();
    expect(call.state()).toEqual({ status: 'fulfilled', value: 'spare' });
    expect(fn).toHaveBeenCalledTimes(3);
  });
});

describe('withFallback: events', () => {
  it('emits fallback { error } for a thrown error and { value } for a handled result', async () => {
    const policy = withFallback('spare', { handleResult: (v) => v === 'bad' });
    const seen: FallbackEvents['fallback'][] = [];
    policy.on('fallback', (p) => seen.push(p));
    const failure = new Error('x');
    await policy.execute(() => Promise.reject(failure));
    await policy.execute(() => 'bad');
    await policy.execute(() => 'good');
    expect(seen).toEqual([{ error: failure }, { value: 'bad' }]);
    expect('value' in seen[0]!).toBe(false);
    expect('error' in seen[1]!).toBe(false);
  });

  it('stops emitting after unsubscribe', async () => {
    const policy = withFallback('spare');
    const listener = vi.fn();
    const off = policy.on('fallback', listener);
    off();
    await policy.execute(down);
    expect(listener).not.toHaveBeenCalled();
  });
});

describe('withFallback: invalid options', () => {
  it('handle or handleResult that is not a function is a TypeError naming it', () => {
    expect(() => withFallback(1, { handle: 'yes' as never })).toThrow(TypeError);
    expect(() => withFallback(1, { handle: 'yes' as never })).toThrow('handle');
    expect(() => withFallback(1, { handleResult: 1 as never })).toThrow(TypeError);
    expect(() => withFallback(1, { handleResult: 1 as never })).toThrow('handleResult');
  });

  it('options that are not an object are a TypeError', () => {
    expect(() => withFallback(1, null as never)).toThrow(TypeError);
    expect(() => withFallback(1, 'x' as never)).toThrow(TypeError);
  });
});
