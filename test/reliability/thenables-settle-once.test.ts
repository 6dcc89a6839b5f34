// Failure mode: `fn` returns a Promise subclass (or a native promise with a
// `then` of its own) that calls back twice; breakwater took any `instanceof
// Promise` as settle-once, so a bulkhead freed the slot twice (`active` went
// to -1) and then ran two calls under `maxConcurrent: 1`.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Bulkhead, CircuitBreaker, retryWithBackoff, withFallback, withTimeout, wrap, type Policy, type PolicyContext } from '../../src/index.js';
import { settle } from '../helpers/settle.js';

/** A Promise subclass whose `then` calls back twice: a broken promise library. */
class Twice<T> extends Promise<T> {
  override then<A = T, B = never>(onValue?: ((value: T) => A | PromiseLike<A>) | null, onError?: ((error: unknown) => B | PromiseLike<B>) | null): Promise<A | B> {
    return super.then(
      (value) => {
        onValue?.(value);
        return onValue!(value);
      },
      (error: unknown) => {
        onError?.(error);
        return onError!(error);
      },
    );
  }
}

/** A native promise, constructor and all, with an own `then` that calls back twice. */
function ownThen<T>(value: T): Promise<T> {
  const promise = Promise.resolve(value);
  Object.defineProperty(promise, 'then', {
    value: (onValue: (v: T) => unknown, onError: (e: unknown) => unknown) =>
      Promise.prototype.then.call(promise, (v) => (onValue(v), onValue(v)), onError),
  });
  return promise;
}

/** A plain thenable that calls back twice. */
const thenable = (value: unknown) => ({
  then(onValue: (v: unknown) => void) {
    onValue(value);
    onValue(value);
  },
});

const returns = {
  'a Promise subclass': (value: unknown) => Twice.resolve(value),
  'a native promise with its own then': ownThen,
  'a plain thenable': thenable,
};

beforeEach(() => void vi.useFakeTimers());
afterEach(() => void vi.useRealTimers());

for (const [kind, make] of Object.entries(returns)) {
  describe(`fn returning ${kind} that calls back twice`, () => {
    it('frees a bulkhead slot once', async () => {
      const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 10 });
      await expect(bulkhead.execute(() => make('first'))).resolves.toBe('first');
      expect(bulkhead.active).toBe(0);
      // Two calls now: the second must wait for the first.
      let running = 0;
      let peak = 0;
      const slow = () =>
        new Promise((resolve) => {
          peak = Math.max(peak, ++running);
          setTimeout(() => resolve(--running), 10);
        });
      const calls = [settle(bulkhead.execute(slow)), settle(bulkhead.execute(slow))];
      expect(bulkhead.active).toBe(1);
      expect(bulkhead.queued).toBe(1);
      await vi.runAllTimersAsync();
      expect(calls.map((c) => c.state().status)).toEqual(['fulfilled', 'fulfilled']);
      expect(peak).toBe(1);
      expect(bulkhead.active).toBe(0);
    });

    it('is one call for a breaker and a pipeline', async () => {
      const breaker = new CircuitBreaker({ failureThreshold: 1 });
      const onSuccess = vi.fn();
      breaker.on('success', onSuccess);
      const value = await wrap(withFallback('fb'), retryWithBackoff(), breaker, withTimeout(100)).execute(() => make('v'));
      expect(value).toBe('v');
      expect(onSuccess).toHaveBeenCalledTimes(1);
    });

    it("frees a bulkhead slot once when a user's own policy returns it", async () => {
      const mine: Policy = { execute: (fn) => make(fn({ signal: new AbortController().signal, attempt: 1 })) as Promise<never> };
      const bulkhead = new Bulkhead({ maxConcurrent: 1 });
      await expect(wrap(bulkhead, mine).execute(() => 'x')).resolves.toBe('x');
      expect(bulkhead.active).toBe(0);
    });

    it('frees a bulkhead slot once when a fallback function returns it', async () => {
      const bulkhead = new Bulkhead({ maxConcurrent: 1 });
      const pipeline = wrap(bulkhead, withFallback(() => make('fb')));
      await expect(pipeline.execute(() => Promise.reject(new Error('down')))).resolves.toBe('fb');
      expect(bulkhead.active).toBe(0);
    });
  });
}

it('still hands back a native promise from fn as it is: no extra ticks', async () => {
  const order: string[] = [];
  const p = withFallback('fb').execute((ctx: PolicyContext) => Promise.resolve(ctx.attempt)).then(() => order.push('policy'));
  const q = Promise.resolve().then(() => undefined).then(() => order.push('two ticks'));
  await Promise.all([p, q]);
  expect(order).toEqual(['policy', 'two ticks']);
});
