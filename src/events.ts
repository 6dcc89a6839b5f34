import { known, mustBe } from './internal/validate.js';

/**
 * A function that receives an event's payload. It may be async: a promise it
 * returns is not awaited, and its rejection is swallowed like a throw.
 */
export type Listener<P> = (payload: P) => void;

/** Removes the listener that `on` added. Calling it twice is harmless. */
export type Unsubscribe = () => void;

/**
 * The event surface every policy has: `on(event, listener)` returns a
 * function that unsubscribes. A listener never changes the outcome of a
 * call: a throw, or a rejection of the promise an async listener returns, is
 * swallowed. Listeners run in the order they subscribed; one that
 * subscribes or unsubscribes during an emit changes the next emit, not this one.
 * The same function subscribed twice is called twice, and each `on`'s
 * unsubscribe removes one of them.
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
  /** The policy's event names, space-separated: `on` refuses any other. */
  readonly #events: string;

  /** @param events the names of `E`'s events, space-separated (types are gone at run time). */
  constructor(events: string) {
    this.#events = events;
  }

  /**
   * Calls `listener` with the payload of every `event` from now on.
   * @returns a function that removes the listener.
   * @throws TypeError when `event` is not one of the policy's events (naming the
   * nearest one), or `listener` is not a function.
   */
  on<K extends keyof E & string>(event: K, listener: Listener<E[K]>): Unsubscribe {
    known('on', 'event', event, this.#events);
    if (typeof listener !== 'function') throw mustBe('on: listener', 'a function', listener);
    // Copy on write: an emit in progress keeps the array it started with.
    this.listeners[event] = [...(this.listeners[event] ?? []), listener];
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      // A fresh copy again: an emit in progress keeps the array it started with.
      // The listener is there: each `on` added one registration, each unsubscribe removes one.
      const rest = [...this.listeners[event]!];
      rest.splice(rest.indexOf(listener), 1);
      // Back to undefined when the last one leaves, so emit costs nothing again.
      (this.listeners as Record<string, unknown>)[event] = rest.length > 0 ? rest : undefined;
    };
  }

  /** @internal */
  protected emit<K extends keyof E>(event: K, payload: E[K]): void {
    const list = this.listeners[event];
    if (list === undefined) return;
    for (const listener of list) {
      try {
        // An async listener's rejection would otherwise be an unhandled rejection.
        // Only a native promise's can be (they all have `catch`); a `catch` that is
        // not a function throws, and is swallowed below.
        // Boolean as the handler: a built-in that ignores the error and never throws (no function of our own).
        (listener(payload) as unknown as Promise<unknown> | null | undefined)?.catch?.(Boolean);
      } catch {
        // A listener's bug must not turn a call's success into a failure.
      }
    }
  }
}

