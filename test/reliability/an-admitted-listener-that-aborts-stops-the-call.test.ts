// Review (R2), failing: Bulkhead's and AdaptiveLimiter's new `admitted` event runs its listeners
// inside the admission, before fn starts. A listener that aborts the caller's signal there (a
// shutdown hook, a "shed load now" switch) should stop the call, as a breaker's halfOpen/stateChange
// listener does (breaker-starts-no-call-a-listener-aborted.test.ts) and as hedge's `hedge` listener
// does. Instead fn runs anyway, with a signal that is already aborted, and the caller waits for it.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AdaptiveLimiter, Bulkhead } from '../../src/index.js';

describe('an admitted listener that aborts the caller', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  // What the two share here: execute, the admitted event, active.
  type Slots = Pick<Bulkhead, 'execute' | 'active'> & { on(event: 'admitted', listener: () => void): () => void };
  const make: Record<string, () => Slots> = {
    Bulkhead: () => new Bulkhead({ maxConcurrent: 1, maxQueue: 10 }),
    AdaptiveLimiter: () => new AdaptiveLimiter({ initialLimit: 1, minLimit: 1, maxLimit: 1, maxQueue: 10 }),
  };

  for (const [name, create] of Object.entries(make)) {
    it(`${name}: a free slot — fn does not start, the call rejects with the reason, the slot is free again`, async () => {
      const policy = create();
      const controller = new AbortController();
      const reason = new Error('shutting down');
      policy.on('admitted', () => controller.abort(reason));
      const fn = vi.fn(() => new Promise(() => {})); // would hold the slot forever
      const call = policy.execute(fn, controller.signal);
      call.catch(() => {});
      await vi.advanceTimersByTimeAsync(0);
      expect(fn).not.toHaveBeenCalled();
      await expect(call).rejects.toBe(reason);
      expect(policy.active).toBe(0);
    });

    it(`${name}: a queued call handed the slot — fn does not start, the next waiter gets the slot`, async () => {
      const policy = create();
      let release!: () => void;
      const first = policy.execute(() => new Promise<void>((r) => (release = r)));
      const controller = new AbortController();
      const reason = new Error('shutting down');
      const fn = vi.fn(() => new Promise(() => {}));
      const second = policy.execute(fn, controller.signal);
      second.catch(() => {});
      const third = policy.execute(() => 'third');
      // Subscribed while both wait: aborts the second call as it is admitted.
      const off = policy.on('admitted', () => {
        off();
        controller.abort(reason);
      });
      release();
      await first;
      await vi.advanceTimersByTimeAsync(0);
      expect(fn).not.toHaveBeenCalled();
      await expect(second).rejects.toBe(reason);
      await expect(third).resolves.toBe('third');
    });
  }
});
