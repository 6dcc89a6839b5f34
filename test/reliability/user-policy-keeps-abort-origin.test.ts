// Failure mode: a user's own policy between a timeout and the policies inside
// it hands back the signal it was given; the inner policies then take the
// timeout's abort for the caller's own, so a breaker does not count the
// timeout and a fallback does not replace it. A user's policy must compose in
// `wrap` like the built-in ones.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CircuitBreaker, hedge, retryWithBackoff, withFallback, withTimeout, wrap, type Policy, type PolicyContext } from '../../src/index.js';
import { settle, untilAborted } from '../helpers/settle.js';

/** Calls fn with the signal it was given, the way the README's example policy does. */
const passThrough: Policy = {
  execute: (fn, signal) => Promise.resolve(fn({ signal: signal ?? new AbortController().signal, attempt: 1 })),
};

/** Hands fn a signal of its own that follows the one it was given. */
const ownController: Policy = {
  async execute(fn, signal) {
    const controller = new AbortController();
    const follow = () => controller.abort(signal!.reason);
    if (signal?.aborted) follow();
    signal?.addEventListener('abort', follow, { once: true });
    try {
      return await fn({ signal: controller.signal, attempt: 1 });
    } finally {
      signal?.removeEventListener('abort', follow);
    }
  },
};

/** Follows the signal it was given through AbortSignal.any. */
const anySignal: Policy = {
  execute: (fn, signal) => Promise.resolve(fn({ signal: AbortSignal.any(signal ? [signal] : []), attempt: 1 })),
};

/** Wraps fn in an async function of its own, passing no attempt at all. */
const asyncWrapper: Policy = {
  async execute(fn, signal) {
    const call = async (ctx: PolicyContext) => {
      await Promise.resolve();
      return fn(ctx);
    };
    return call({ signal: signal ?? new AbortController().signal } as PolicyContext);
  },
};

const shapes = { 'a pass-through policy': passThrough, 'a policy with its own AbortController': ownController, 'a policy using AbortSignal.any': anySignal, 'a policy that wraps fn in an async function': asyncWrapper };

beforeEach(() => void vi.useFakeTimers());
afterEach(() => {
  expect(vi.getTimerCount()).toBe(0);
  vi.useRealTimers();
});

for (const [shape, mine] of Object.entries(shapes)) {
  describe(`${shape} inside wrap`, () => {
    it('lets a breaker inside it count an enclosing timeout as a failure', async () => {
      const breaker = new CircuitBreaker({ failureThreshold: 1 });
      const call = settle(wrap(withTimeout(50), mine, breaker).execute(untilAborted));
      await vi.advanceTimersByTimeAsync(50);
      expect(call.state()).toMatchObject({ status: 'rejected', reason: { name: 'TimeoutError' } });
      expect(breaker.state).toBe('open');
      breaker.reset();
    });

    it('lets a fallback inside it replace an enclosing timeout', async () => {
      const call = settle(wrap(withTimeout(50, { strategy: 'cooperative' }), mine, withFallback('fallback')).execute(untilAborted));
      await vi.advanceTimersByTimeAsync(50);
      expect(call.state()).toEqual({ status: 'fulfilled', value: 'fallback' });
    });

    it("still treats the caller's own abort as the caller's: not counted, not replaced", async () => {
      const breaker = new CircuitBreaker({ failureThreshold: 1 });
      const caller = new AbortController();
      // A TimeoutError reason, as AbortSignal.timeout() gives: still the caller's own abort.
      const reason = new DOMException('the caller gave up', 'TimeoutError');
      const call = settle(wrap(withTimeout(1_000), mine, withFallback('fallback'), breaker).execute(untilAborted, caller.signal));
      await vi.advanceTimersByTimeAsync(10);
      caller.abort(reason);
      await vi.advanceTimersByTimeAsync(0);
      expect(call.state()).toEqual({ status: 'rejected', reason });
      expect(breaker.state).toBe('closed');
    });

    it('lets a breaker inside it ignore a hedged attempt that lost', async () => {
      const breaker = new CircuitBreaker({ failureThreshold: 1 });
      let calls = 0;
      const fn = (ctx: PolicyContext) => (++calls === 1 ? untilAborted(ctx) : 'second');
      const call = settle(wrap(hedge({ delay: 10 }), mine, breaker).execute(fn));
      await vi.advanceTimersByTimeAsync(10);
      expect(call.state()).toEqual({ status: 'fulfilled', value: 'second' });
      expect(breaker.state).toBe('closed');
    });

    it("keeps the enclosing retry's ctx.attempt", async () => {
      const seen: number[] = [];
      const call = settle(
        wrap(retryWithBackoff({ maxRetries: 2, initialDelay: 1, jitter: 'none' }), mine, withTimeout(100)).execute((ctx) => {
          seen.push(ctx.attempt);
          if (ctx.attempt < 3) throw new Error('again');
          return 'done';
        }),
      );
      await vi.runAllTimersAsync();
      expect(call.state()).toEqual({ status: 'fulfilled', value: 'done' });
      expect(seen).toEqual([1, 2, 3]);
    });
  });
}

describe("a user policy's own abort", () => {
  /** Gives up on fn after 30 ms through a controller of its own, with `reason`. */
  const givingUp = (reason: unknown): Policy => ({
    async execute(fn) {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(reason), 30);
      try {
        return await fn({ signal: controller.signal, attempt: 1 });
      } finally {
        clearTimeout(timer);
      }
    },
  });

  for (const reason of [new DOMException('my own timeout', 'TimeoutError'), new Error('my policy gave up')]) {
    it(`is an enclosing policy giving up, not the caller: a breaker counts it, a fallback replaces it (${reason.name})`, async () => {
      const breaker = new CircuitBreaker({ failureThreshold: 1 });
      const call = settle(wrap(givingUp(reason), withFallback('fallback'), breaker).execute(untilAborted));
      await vi.advanceTimersByTimeAsync(30);
      expect(call.state()).toEqual({ status: 'fulfilled', value: 'fallback' });
      expect(breaker.state).toBe('open');
      breaker.reset();
    });
  }

  it('is not retried by a retry inside it (the call was given up on)', async () => {
    const fn = vi.fn(untilAborted);
    const call = settle(wrap(givingUp(new Error('my policy gave up')), retryWithBackoff({ handle: () => true, initialDelay: 1 })).execute(fn));
    await vi.runAllTimersAsync();
    expect(call.state()).toMatchObject({ status: 'rejected', reason: { message: 'my policy gave up' } });
    expect(fn).toHaveBeenCalledTimes(1);
  });
});

describe('a user policy that numbers attempts itself', () => {
  it("hands fn its own attempt numbers above 1 (it is the nearest retry)", async () => {
    const twice: Policy = {
      async execute(fn, signal) {
        const ctx = (attempt: number) => ({ signal: signal ?? new AbortController().signal, attempt });
        try {
          return await fn(ctx(1));
        } catch {
          return await fn(ctx(2));
        }
      },
    };
    const seen: number[] = [];
    const value = await wrap(twice, withTimeout(100)).execute((ctx) => {
      seen.push(ctx.attempt);
      if (ctx.attempt === 1) throw new Error('again');
      return 'ok';
    });
    expect(value).toBe('ok');
    expect(seen).toEqual([1, 2]);
  });
});
