/** A function that receives an event's payload. */
export type Listener<P> = (payload: P) => void;

/** Removes the listener that `on` added. Calling it twice is harmless. */
export type Unsubscribe = () => void;

/**
 * The event surface every policy has: `on(event, listener)` returns a
 * function that unsubscribes. A listener that throws never changes the
 * outcome of a call: its error is swallowed.
 *
 * @example
 * ```ts
 * import { retryWithBackoff } from 'breakwater';
 *
 * const retry = retryWithBackoff();
 * const off = retry.on('retry', ({ attempt, delay }) => console.log(`attempt ${attempt} failed, next in ${delay} ms`));
 * off();
 * ```
 */
export class Emitter<E extends object> {
  /**
   * Listeners by event name; `undefined` until someone listens, so a policy
   * can test `this.listeners.x !== undefined` before building a payload.
   * @internal
   */
  protected listeners: { [K in keyof E]?: ReadonlyArray<Listener<E[K]>> } = {};

  /**
   * Calls `listener` with the payload of every `event` from now on.
   * @returns a function that removes the listener.
   */
  on<K extends keyof E & string>(event: K, listener: Listener<E[K]>): Unsubscribe {
    if (typeof listener !== 'function') throw new TypeError('on: listener must be a function');
    // Copy on write: an emit in progress keeps the array it started with.
    this.listeners[event] = [...(this.listeners[event] ?? []), listener];
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      // A fresh copy again: an emit in progress keeps the array it started with.
      const rest = [...(this.listeners[event] ?? [])];
      const at = rest.indexOf(listener);
      if (at < 0) return;
      rest.splice(at, 1);
      if (rest.length === 0) delete this.listeners[event];
      else this.listeners[event] = rest;
    };
  }

  /** @internal */
  protected emit<K extends keyof E>(event: K, payload: E[K]): void {
    const list = this.listeners[event];
    if (list === undefined) return;
    for (const listener of list) {
      try {
        listener(payload);
      } catch {
        // A listener's bug must not turn a call's success into a failure.
      }
    }
  }
}
