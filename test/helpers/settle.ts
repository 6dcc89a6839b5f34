/** How a promise ended, captured at once so a rejection is never unhandled while a test advances timers. */
export type Settled<T> = { readonly status: 'pending' } | { readonly status: 'fulfilled'; readonly value: T } | { readonly status: 'rejected'; readonly reason: unknown };

/**
 * Observes `promise` from now on: `state()` reads how it ended so far.
 *
 * @example
 * ```ts
 * import { settle } from '../test/helpers/settle.js';
 *
 * const call = settle(policy.execute(fn));
 * await vi.advanceTimersByTimeAsync(100);
 * expect(call.state()).toEqual({ status: 'fulfilled', value: 1 });
 * ```
 */
export function settle<T>(promise: Promise<T>): { state(): Settled<T>; readonly promise: Promise<Settled<T>> } {
  let current: Settled<T> = { status: 'pending' };
  const done = promise.then(
    (value) => (current = { status: 'fulfilled', value }),
    (reason: unknown) => (current = { status: 'rejected', reason }),
  );
  return { state: () => current, promise: done };
}

/** An `fn` that never answers but rejects with the abort reason once its signal aborts. */
export const untilAborted = ({ signal }: { readonly signal: AbortSignal }): Promise<never> =>
  new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
