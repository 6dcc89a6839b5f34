import { getEventListeners } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { settle } from '../test/helpers/settle.js';
import { TimeoutError } from './errors.js';
import { type PolicyContext, wrap } from './policy.js';
import { withTimeout } from './timeout.js';

// Captured before timers are faked: lets a test wait for Node's unhandled-rejection check for real.
const realSetImmediate = globalThis.setImmediate;
const realTurn = (): Promise<void> => new Promise((resolve) => realSetImmediate(resolve));

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const never = (): Promise<never> => new Promise(() => {});

function after<T>(ms: number, value: T): Promise<T> {
  return new Promise((resolve) => setTimeout(() => resolve(value), ms));
}
function failAfter(ms: number, error: unknown): Promise<never> {
  return new Promise((_, reject) => setTimeout(() => reject(error), ms));
}

describe('withTimeout: aggressive (the default)', () => {
  it('rejects with a TimeoutError { timeout } exactly at the deadline, whatever fn does', async () => {
    const timeout = withTimeout(100);
    expect(timeout.strategy).toBe('aggressive');
    const call = settle(timeout.execute(never));
    await vi.advanceTimersByTimeAsync(99);
    expect(call.state().status).toBe('pending');
    await vi.advanceTimersByTimeAsync(1);
    const state = call.state();
    expect(state.status).toBe('rejected');
    const error = (state as { reason: unknown }).reason;
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ name: 'TimeoutError', timeout: 100 });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('aborts ctx.signal at the deadline with the very TimeoutError it rejects with', async () => {
    let signal: AbortSignal | undefined;
    const call = settle(
      withTimeout(50).execute((ctx) => {
        signal = ctx.signal;
        return never();
      }),
    );
    expect(signal?.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(50);
    expect(signal?.aborted).toBe(true);
    expect(call.state()).toEqual({ status: 'rejected', reason: signal?.reason });
    expect(signal?.reason).toBeInstanceOf(TimeoutError);
  });

  it('a signal first read after the deadline is already aborted', async () => {
    let ctx: PolicyContext | undefined;
    settle(
      withTimeout(50).execute((c) => {
        ctx = c;
        return never();
      }),
    );
    await vi.advanceTimersByTimeAsync(50);
    expect(ctx?.signal.aborted).toBe(true);
    expect(ctx?.signal.reason).toBeInstanceOf(TimeoutError);
  });

  it('ignores a value that arrives after the deadline', async () => {
    const call = settle(withTimeout(50).execute(() => after(80, 'late')));
    await vi.advanceTimersByTimeAsync(100);
    expect(call.state()).toMatchObject({ status: 'rejected', reason: { name: 'TimeoutError' } });
  });

  it('an abandoned call that rejects later never becomes an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => {
      unhandled.push(reason);
    };
    process.on('unhandledRejection', onUnhandled);
    try {
      const call = settle(withTimeout(10).execute(() => failAfter(50, new Error('late failure'))));
      await vi.advanceTimersByTimeAsync(100);
      expect(call.state()).toMatchObject({ status: 'rejected', reason: { name: 'TimeoutError' } });
      await realTurn();
      await realTurn();
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

describe('withTimeout: cooperative', () => {
  it('aborts ctx.signal at the deadline and waits for fn: a value is returned', async () => {
    let signal: AbortSignal | undefined;
    const call = settle(
      withTimeout(50, { strategy: 'cooperative' }).execute((ctx) => {
        signal = ctx.signal;
        return after(80, 'finished anyway');
      }),
    );
    await vi.advanceTimersByTimeAsync(50);
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toMatchObject({ name: 'TimeoutError', timeout: 50 });
    expect(call.state().status).toBe('pending');
    await vi.advanceTimersByTimeAsync(30);
    expect(call.state()).toEqual({ status: 'fulfilled', value: 'finished anyway' });
  });

  it('turns an error fn ends with after the deadline into a TimeoutError with that error as cause', async () => {
    const failure = new Error('driver: query cancelled');
    const call = settle(
      withTimeout(50, { strategy: 'cooperative' }).execute(({ signal }) =>
        new Promise((_, reject) => signal.addEventListener('abort', () => reject(failure), { once: true })),
      ),
    );
    await vi.advanceTimersByTimeAsync(50);
    const state = call.state();
    expect(state.status).toBe('rejected');
    const error = (state as { reason: TimeoutError }).reason;
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error.timeout).toBe(50);
    expect(error.cause).toBe(failure);
  });

  it('rejects with the TimeoutError itself when fn rejects with signal.reason', async () => {
    let reason: unknown;
    const call = settle(
      withTimeout(20, { strategy: 'cooperative' }).execute(({ signal }) =>
        new Promise((_, reject) =>
          signal.addEventListener('abort', () => {
            reason = signal.reason;
            reject(signal.reason);
          }),
        ),
      ),
    );
    await vi.advanceTimersByTimeAsync(20);
    expect(call.state()).toEqual({ status: 'rejected', reason });
    expect(reason).toBeInstanceOf(TimeoutError);
  });

  it('passes an error that comes before the deadline through unchanged', async () => {
    const failure = new Error('early');
    await expect(withTimeout(50, { strategy: 'cooperative' }).execute(() => Promise.reject(failure))).rejects.toBe(failure);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('withTimeout: a call that ends before the deadline', () => {
  for (const strategy of ['aggressive', 'cooperative'] as const) {
    it(`${strategy}: returns its value, clears its timer and never aborts ctx.signal afterwards`, async () => {
      const timeout = withTimeout(100, { strategy });
      const onTimeout = vi.fn();
      timeout.on('timeout', onTimeout);
      let signal: AbortSignal | undefined;
      const call = settle(
        timeout.execute((ctx) => {
          signal = ctx.signal;
          return after(10, 'fast');
        }),
      );
      await vi.advanceTimersByTimeAsync(10);
      expect(call.state()).toEqual({ status: 'fulfilled', value: 'fast' });
      expect(vi.getTimerCount()).toBe(0);
      await vi.advanceTimersByTimeAsync(1_000);
      expect(signal?.aborted).toBe(false);
      expect(onTimeout).not.toHaveBeenCalled();
    });

    it(`${strategy}: passes a fast error through unchanged and clears its timer`, async () => {
      const failure = new Error('fast failure');
      const call = settle(withTimeout(100, { strategy }).execute(() => failAfter(5, failure)));
      await vi.advanceTimersByTimeAsync(5);
      expect(call.state()).toEqual({ status: 'rejected', reason: failure });
      expect(vi.getTimerCount()).toBe(0);
    });
  }

  it('accepts a synchronous value and a synchronous throw', async () => {
    await expect(withTimeout(10).execute(() => 7)).resolves.toBe(7);
    const failure = new Error('sync');
    await expect(
      withTimeout(10).execute(() => {
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('withTimeout: events', () => {
  it('emits timeout { timeout } once per call that passes its deadline', async () => {
    for (const strategy of ['aggressive', 'cooperative'] as const) {
      const timeout = withTimeout(30, { strategy });
      const seen: unknown[] = [];
      timeout.on('timeout', (p) => seen.push(p));
      settle(timeout.execute(({ signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)))));
      await vi.advanceTimersByTimeAsync(100);
      expect(seen).toEqual([{ timeout: 30 }]);
    }
  });

  it('stops emitting after unsubscribe', async () => {
    const timeout = withTimeout(30);
    const listener = vi.fn();
    timeout.on('timeout', listener)();
    settle(timeout.execute(never));
    await vi.advanceTimersByTimeAsync(30);
    expect(listener).not.toHaveBeenCalled();
  });
});

describe('withTimeout: the caller signal', () => {
  it('already aborted: fn is not called, the promise rejects with signal.reason, and no timer starts', async () => {
    const reason = new Error('caller gave up');
    const fn = vi.fn();
    await expect(withTimeout(100).execute(fn, AbortSignal.abort(reason))).rejects.toBe(reason);
    expect(fn).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(0);
  });

  it("aborting later reaches fn's ctx.signal with the caller's reason", async () => {
    const controller = new AbortController();
    const reason = new Error('navigated away');
    const call = settle(
      withTimeout(1_000).execute(
        ({ signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
        controller.signal,
      ),
    );
    await vi.advanceTimersByTimeAsync(10);
    controller.abort(reason);
    await vi.advanceTimersByTimeAsync(0);
    expect(call.state()).toEqual({ status: 'rejected', reason });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a signal first read after the caller aborted is already aborted with the caller reason', async () => {
    const controller = new AbortController();
    const call = settle(
      withTimeout(1_000, { strategy: 'cooperative' }).execute(async (ctx) => {
        await new Promise((resolve) => setTimeout(resolve, 10));
        return ctx.signal;
      }, controller.signal),
    );
    await vi.advanceTimersByTimeAsync(5);
    controller.abort('caller left');
    await vi.advanceTimersByTimeAsync(5);
    const state = call.state() as { status: string; value: AbortSignal };
    expect(state.status).toBe('fulfilled');
    expect(state.value.aborted).toBe(true);
    expect(state.value.reason).toBe('caller left');
  });

  it("a signal first read after an outer cooperative timeout fired is already aborted with the outer's TimeoutError", async () => {
    const outer = withTimeout(50, { strategy: 'cooperative' });
    const call = settle(
      wrap(outer, withTimeout(1_000, { strategy: 'cooperative' })).execute(async (ctx) => {
        await new Promise((resolve) => setTimeout(resolve, 60));
        return ctx.signal;
      }),
    );
    await vi.advanceTimersByTimeAsync(60);
    const state = call.state() as { status: string; value: AbortSignal };
    expect(state.status).toBe('fulfilled');
    expect(state.value.aborted).toBe(true);
    expect(state.value.reason).toMatchObject({ name: 'TimeoutError', timeout: 50 });
  });

  it('leaves no abort listener on a long-lived caller signal, after fast calls and timed-out ones', async () => {
    const controller = new AbortController();
    const timeout = withTimeout(50);
    const cooperative = withTimeout(50, { strategy: 'cooperative' });
    for (let i = 0; i < 10; i++) {
      await timeout.execute(({ signal }) => (signal.aborted ? 'x' : i), controller.signal);
      const late = settle(
        timeout.execute((ctx) => {
          void ctx.signal; // read it, so the timeout links its scope to the caller signal
          return never();
        }, controller.signal),
      );
      const coop = settle(
        cooperative.execute(
          ({ signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
          controller.signal,
        ),
      );
      await vi.advanceTimersByTimeAsync(50);
      expect(late.state().status).toBe('rejected');
      expect(coop.state().status).toBe('rejected');
    }
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    expect(controller.signal.aborted).toBe(false);
  });
});

describe('withTimeout: long and special durations', () => {
  const MAX = 2 ** 31 - 1;

  it('a timeout above 2^31-1 ms neither overflows nor fires early', async () => {
    const ms = MAX + 5_000;
    const call = settle(withTimeout(ms).execute(never));
    await vi.advanceTimersByTimeAsync(1);
    expect(call.state().status).toBe('pending');
    await vi.advanceTimersByTimeAsync(ms - 2);
    expect(call.state().status).toBe('pending');
    await vi.advanceTimersByTimeAsync(1);
    expect(call.state()).toMatchObject({ status: 'rejected', reason: { timeout: ms } });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a fast call under a timeout above 2^31-1 ms clears its timer', async () => {
    await expect(withTimeout(10 * MAX).execute(() => 'ok')).resolves.toBe('ok');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('Infinity never times out and starts no timer', async () => {
    let signal: AbortSignal | undefined;
    const call = settle(
      withTimeout(Infinity).execute((ctx) => {
        signal = ctx.signal;
        return after(1e12, 'eventually');
      }),
    );
    expect(vi.getTimerCount()).toBe(1); // only fn's own timer
    await vi.advanceTimersByTimeAsync(1e12);
    expect(call.state()).toEqual({ status: 'fulfilled', value: 'eventually' });
    expect(signal?.aborted).toBe(false);
  });

  it('0 ms times out on the next timer tick', async () => {
    const call = settle(withTimeout(0).execute(never));
    await vi.advanceTimersByTimeAsync(0);
    expect(call.state()).toMatchObject({ status: 'rejected', reason: { name: 'TimeoutError', timeout: 0 } });
  });
});

describe('withTimeout: invalid arguments', () => {
  it('ms: missing or not a number is a TypeError naming it', () => {
    expect(() => withTimeout(undefined as never)).toThrow(TypeError);
    expect(() => withTimeout(undefined as never)).toThrow('ms');
    expect(() => withTimeout('100' as never)).toThrow(TypeError);
    expect(() => withTimeout('100' as never)).toThrow('ms');
  });

  it('ms: negative or NaN is a RangeError naming it', () => {
    expect(() => withTimeout(-1)).toThrow(RangeError);
    expect(() => withTimeout(-1)).toThrow('ms');
    expect(() => withTimeout(Number.NaN)).toThrow(RangeError);
  });

  it('strategy: an unknown name is a RangeError, a non-string a TypeError, both naming the option', () => {
    expect(() => withTimeout(10, { strategy: 'optimistic' as never })).toThrow(RangeError);
    expect(() => withTimeout(10, { strategy: 'optimistic' as never })).toThrow('strategy');
    expect(() => withTimeout(10, { strategy: 1 as never })).toThrow(TypeError);
  });

  it('options that are not an object are a TypeError; strategy undefined means aggressive', () => {
    expect(() => withTimeout(10, null as never)).toThrow(TypeError);
    expect(withTimeout(10, { strategy: undefined } as never).strategy).toBe('aggressive');
    expect(withTimeout(10, {}).timeout).toBe(10);
  });
});

describe('withTimeout: the caller gives up first', () => {
  it('an aggressive timeout ends a call whose fn ignores the caller’s abort with the caller’s reason, and counts no timeout', async () => {
    const timeout = withTimeout(100);
    const timeouts: unknown[] = [];
    timeout.on('timeout', (e) => timeouts.push(e));
    const caller = new AbortController();
    const call = settle(timeout.execute(never, caller.signal));
    await vi.advanceTimersByTimeAsync(10);
    const reason = new Error('user left');
    caller.abort(reason);
    await vi.advanceTimersByTimeAsync(90);
    expect(call.state()).toEqual({ status: 'rejected', reason });
    expect(timeouts).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });
});
