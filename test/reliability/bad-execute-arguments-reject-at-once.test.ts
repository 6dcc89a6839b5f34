// Failure mode: programmer errors passed to `execute` are taken for failures
// of the call. A non-function `fn` was retried three times with backoff and
// opened a breaker, ending in "ctx.fn is not a function"; an AbortController
// passed for its signal made a later, unrelated call through withTimeout never
// settle and raised an unhandled rejection.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  Bulkhead,
  CircuitBreaker,
  RateLimiter,
  chaos,
  hedge,
  retryWithBackoff,
  withFallback,
  withTimeout,
  wrap,
  type Policy,
  type PolicyContext,
} from '../../src/index.js';
import { settle } from '../helpers/settle.js';

const policies = {
  retryWithBackoff: () => retryWithBackoff(),
  CircuitBreaker: () => new CircuitBreaker({ failureThreshold: 1 }),
  Bulkhead: () => new Bulkhead({ maxConcurrent: 1 }),
  RateLimiter: () => new RateLimiter({ limit: 1, interval: 1_000 }),
  withTimeout: () => withTimeout(100),
  withFallback: () => withFallback('fallback'),
  hedge: () => hedge({ delay: 10 }),
  chaos: () => chaos({ faultRate: 0 }),
  wrap: () => wrap(withFallback('fallback'), retryWithBackoff(), new CircuitBreaker({ failureThreshold: 1 }), withTimeout(100)),
};

const notFunctions: [unknown, string][] = [
  ['fetchUser', "'fetchUser'"],
  [undefined, 'undefined'],
  [null, 'null'],
  [{ then() {} }, 'an object'],
];

let unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => void unhandled.push(reason);

beforeEach(() => {
  vi.useFakeTimers();
  unhandled = [];
  process.on('unhandledRejection', onUnhandled);
});
afterEach(async () => {
  vi.useRealTimers();
  await new Promise((resolve) => setTimeout(resolve, 5)); // unhandled rejections are reported a tick later
  process.off('unhandledRejection', onUnhandled);
  expect(unhandled).toEqual([]);
});

for (const [name, make] of Object.entries(policies)) {
  describe(`${name}.execute`, () => {
    for (const [fn, shown] of notFunctions) {
      it(`rejects at once with a TypeError for fn ${shown}, counting and starting nothing`, async () => {
        const policy = make();
        const events = vi.fn();
        for (const event of ['retry', 'failure', 'fallback', 'rejected', 'hedge', 'timeout'] as const) {
          try {
            (policy as unknown as { on(e: string, l: () => void): void }).on(event, events);
          } catch {
            // not one of this policy's events
          }
        }
        let result: Promise<unknown> | undefined;
        expect(() => (result = policy.execute(fn as () => unknown))).not.toThrow();
        const call = settle(result!);
        await vi.advanceTimersByTimeAsync(0); // a microtask turn, no timer
        expect(call.state()).toMatchObject({ status: 'rejected', reason: { name: 'TypeError', message: `${name}.execute: fn must be a function, got ${shown}` } });
        expect(events).not.toHaveBeenCalled();
        expect(vi.getTimerCount()).toBe(0);
        // Nothing was poisoned: a good call right after works.
        await expect(policy.execute(() => 'ok')).resolves.toBe('ok');
      });
    }

    it('rejects at once with a TypeError for an AbortController passed as the signal, and a later call works', async () => {
      const policy = make();
      const controller = new AbortController();
      const call = settle(policy.execute(() => 'never', controller as unknown as AbortSignal));
      await vi.advanceTimersByTimeAsync(0);
      expect(call.state()).toMatchObject({
        status: 'rejected',
        reason: { name: 'TypeError', message: `${name}.execute: signal must be an AbortSignal, got an object` },
      });
      expect(vi.getTimerCount()).toBe(0);
      // The same controller's signal, used properly, and an unrelated call: both work.
      const later = settle(policy.execute(() => 'later', controller.signal));
      const unrelated = settle(withTimeout(100).execute(() => 'unrelated', controller.signal));
      await vi.advanceTimersByTimeAsync(0);
      expect(later.state()).toEqual({ status: 'fulfilled', value: 'later' });
      expect(unrelated.state()).toEqual({ status: 'fulfilled', value: 'unrelated' });
    });

    for (const bad of ['signal', 42, true, {}]) {
      it(`rejects a signal of ${JSON.stringify(bad)} with a TypeError`, async () => {
        await expect(make().execute(() => 'never', bad as unknown as AbortSignal)).rejects.toThrow(/^.*\.execute: signal must be an AbortSignal, got /);
      });
    }

    it('still takes undefined and null for no signal', async () => {
      await expect(make().execute(() => 'a', undefined)).resolves.toBe('a');
      await expect(make().execute(() => 'b', null as unknown as AbortSignal)).resolves.toBe('b');
    });
  });
}

describe('a signal from another realm or a polyfill', () => {
  /** An AbortSignal by its brand, on an EventTarget of its own: a polyfill's, or another realm's. */
  class ForeignSignal extends EventTarget {
    aborted = false;
    reason: unknown = undefined;
    get [Symbol.toStringTag]() {
      return 'AbortSignal';
    }
    abort(reason: unknown) {
      this.aborted = true;
      this.reason = reason;
      this.dispatchEvent(new Event('abort'));
    }
  }

  it('is taken as the call signal: its abort ends the call', async () => {
    const foreign = new ForeignSignal();
    const fn = (ctx: PolicyContext) => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));
    const call = settle(wrap(retryWithBackoff(), withTimeout(1_000)).execute(fn, foreign as unknown as AbortSignal));
    foreign.abort('stop');
    await vi.advanceTimersByTimeAsync(0);
    expect(call.state()).toEqual({ status: 'rejected', reason: 'stop' });
  });

  it('is refused without the brand, even with the same methods: breakwater does not guess', async () => {
    const lookalike = Object.assign(new EventTarget(), { aborted: false, reason: undefined });
    await expect(withTimeout(100).execute(() => 'never', lookalike as unknown as AbortSignal)).rejects.toThrow('withTimeout.execute: signal must be an AbortSignal, got an object');
  });
});

describe("wrap with a user's own policy", () => {
  it('rejects, naming wrap, when the policy calls fn with something that is no AbortSignal', async () => {
    const controller = new AbortController();
    const mine: Policy = { execute: (fn) => Promise.resolve(fn({ signal: controller as unknown as AbortSignal, attempt: 1 })) };
    const fn = vi.fn(() => 'never');
    await expect(wrap(mine, withTimeout(100)).execute(fn)).rejects.toThrow(new TypeError('wrap.execute: ctx.signal must be an AbortSignal, got an object'));
    expect(fn).not.toHaveBeenCalled();
  });

  it('is not retried or hedged: an enclosing retry or hedge ends at once with the TypeError', async () => {
    vi.useFakeTimers();
    try {
      for (const outer of [() => retryWithBackoff({ initialDelay: 1_000 }), () => hedge({ delay: 0, maxHedges: 3 })]) {
        const controller = new AbortController();
        let calls = 0;
        const mine: Policy = { execute: (fn) => (calls++, Promise.resolve(fn({ signal: controller as unknown as AbortSignal, attempt: 1 }))) };
        const fn = vi.fn(() => 'never');
        const call = settle(wrap(outer(), mine).execute(fn));
        await vi.advanceTimersByTimeAsync(0);
        expect(call.state()).toMatchObject({ status: 'rejected', reason: new TypeError('wrap.execute: ctx.signal must be an AbortSignal, got an object') });
        expect(calls).toBe(1);
        expect(fn).not.toHaveBeenCalled();
        expect(vi.getTimerCount()).toBe(0);
      }
    } finally {
      vi.useRealTimers();
    }
  });
});
