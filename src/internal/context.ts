import type { PolicyContext } from '../policy.js';
import { startTimer, stopTimer } from './timers.js';

/** The user's function, as every policy stores it. */
export type Fn = (ctx: PolicyContext) => unknown;

/** The rest of a pipeline, inside the current policy. Always returns a native promise. */
export type Next = (ctx: Ctx) => Promise<unknown>;

/** Told, through `handleEvent`, when a call is aborted; the same object can listen on an AbortSignal. */
export interface AbortListener {
  handleEvent(): void;
}

/**
 * One real listener per AbortSignal, however many calls wait on it. A caller
 * that shares one signal (a shutdown signal, a request's) across many calls in
 * flight would otherwise collect a listener per call, and Node warns of a
 * leak past 10. Listeners are told in the order they subscribed.
 */
class Hub extends Set<AbortListener> {
  handleEvent(event: Event): void {
    hubs.delete(event.target as AbortSignal); // the signal it listens on: the one that aborted
    const listeners = [...this];
    this.clear();
    for (const listener of listeners) listener.handleEvent();
  }
}

const hubs = /* @__PURE__ */ new WeakMap<AbortSignal, Hub>();

/** Calls `listener.handleEvent()` once when `signal` aborts. The signal must not be aborted yet. */
export function watch(signal: AbortSignal, listener: AbortListener): void {
  let hub = hubs.get(signal);
  if (hub === undefined) {
    hub = new Hub();
    hubs.set(signal, hub);
    signal.addEventListener('abort', hub, { once: true });
  }
  hub.add(listener);
}

export function unwatch(signal: AbortSignal, listener: AbortListener): void {
  const hub = hubs.get(signal);
  if (hub?.delete(listener) && hub.size === 0) {
    hubs.delete(signal);
    signal.removeEventListener('abort', hub);
  }
}

/**
 * An abort scope: one per timeout or hedge attempt, so that policy can abort
 * its own part of a call. Its AbortController is created only when someone
 * reads the signal (an AbortController costs microseconds; most calls never
 * look), and it listens upstream only while its owner is running, so a
 * long-lived caller signal is left with no listeners. Policies that only need
 * to hear an abort (a delay, a queue) `listen` without creating a controller.
 */
export class Scope {
  // #private: minifiers shorten these names, plain properties they cannot (bench/bundle.mjs).
  #controller: AbortController | undefined;
  // Whether it listens on the context it was forked from (through `listen`: a parent
  // scope's listeners or the caller's signal, never a parent's AbortController).
  #linked: boolean | undefined;
  #listeners: AbortListener[] | undefined;
  #aborted: boolean | undefined; // undefined: false (an initializer costs bytes)
  #released: boolean | undefined;
  #abortReason: unknown;

  /** The context this scope was forked from: it aborts when that one does. */
  readonly #from: Ctx;

  constructor(from: Ctx) {
    this.#from = from;
  }

  // `aborted` and `reason` as an AbortSignal has them: a context reads either alike.
  get aborted(): boolean {
    return this.#aborted || this.#from.aborted;
  }

  get reason(): unknown {
    return this.#aborted ? this.#abortReason : this.#from.reason;
  }

  get signal(): AbortSignal {
    if (this.#controller !== undefined) return this.#controller.signal;
    const controller = (this.#controller = new AbortController());
    if (this.#aborted) controller.abort(this.#abortReason);
    else this.#link();
    return controller.signal;
  }

  /**
   * Calls `listener.handleEvent()` when this scope aborts, creating no
   * AbortController. Only while the scope is not aborted; undo with `unlisten`.
   */
  listen(listener: AbortListener): void {
    (this.#listeners ??= []).push(listener);
    this.#link();
  }

  unlisten(listener: AbortListener): void {
    const list = this.#listeners;
    if (list === undefined) return;
    const at = list.indexOf(listener);
    if (at >= 0) list.splice(at, 1);
    // Nobody left to tell and no signal handed out: stop listening upstream.
    if (list.length === 0 && this.#controller === undefined) this.#unlink();
  }

  /** Aborts this scope (and so every scope inside it) with `reason`. */
  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#abortReason = reason;
    this.#unlink();
    this.#controller?.abort(reason);
    const list = this.#listeners;
    this.#listeners = undefined;
    if (list !== undefined) for (const listener of list) listener.handleEvent();
  }

  /** The owner is done: stop listening upstream. The signal is left as it is (a body may still stream). */
  release(): void {
    this.#released = true;
    this.#unlink();
  }

  /** @internal Upstream aborted. (An object listener needs no closure.) */
  handleEvent(): void {
    this.abort(this.#from.reason);
  }

  /**
   * Listens upstream, once, while the owner runs; an upstream that has aborted already aborts
   * this scope at once. Released, it follows upstream no more: an abort there reaches no signal.
   */
  #link(): void {
    if (this.#linked || this.#released) return;
    if (this.#from.aborted) this.abort(this.#from.reason);
    else this.#linked = this.#from.listen(this);
  }

  #unlink(): void {
    if (!this.#linked) return;
    this.#linked = false;
    this.#from.unlisten(this);
  }
}

/**
 * The context a call carries through a pipeline; what `fn` receives as
 * `PolicyContext`. Policies that change neither the signal nor the attempt
 * pass it on as it is.
 */
export class Ctx implements PolicyContext {
  #own: AbortSignal | undefined; // #private: a minified name

  // Declared, not parameter properties: an ES2022 build would define each field
  // and then assign it, costing bytes and work per call.
  /** @internal */ declare readonly fn: Fn;
  declare readonly attempt: number;
  /** @internal */ declare readonly scope: Scope | undefined;
  /**
   * @internal What this call follows outside its scopes: the caller's signal, or,
   * inside a user's own policy, the signal that policy handed to `fn`.
   */
  declare readonly callerSignal: AbortSignal | undefined;
  /**
   * @internal Inside a user's own policy: the call outside it. An abort that
   * comes through `callerSignal` is classified by that call, so its origin
   * (the caller, a timeout, a hedge that lost) survives the round trip.
   */
  declare readonly outer: Ctx | undefined;
  /**
   * @internal The retry budgets already told of this call's first attempt
   * (internal/budget.ts): one budget, or an array of them. Passed on to every context derived from this one.
   */
  declare budgets: unknown;

  constructor(fn: Fn, attempt: number, scope: Scope | undefined, callerSignal: AbortSignal | undefined, outer?: Ctx, budgets?: unknown) {
    this.fn = fn;
    this.attempt = attempt;
    this.scope = scope;
    this.callerSignal = callerSignal;
    this.outer = outer;
    this.budgets = budgets;
  }

  get signal(): AbortSignal {
    // Nothing can abort this call: a fresh signal, never shared, so listeners
    // that user code forgets to remove cannot pile up on it.
    return this.scope?.signal ?? this.callerSignal ?? (this.#own ??= new AbortController().signal);
  }

  /** Whether anything can abort this call: a caller's signal or an enclosing scope. */
  get abortable(): boolean {
    return (this.scope ?? this.callerSignal) !== undefined;
  }

  /** Whether the caller or an enclosing policy has given up on this call. */
  get aborted(): boolean {
    return (this.scope ?? this.callerSignal)?.aborted === true;
  }

  /** Why it gave up. */
  get reason(): unknown {
    return (this.scope ?? this.callerSignal)?.reason;
  }

  /**
   * Calls `listener.handleEvent()` when this call is aborted, without
   * creating an AbortController (as reading `signal` inside a scope would).
   * Only while `!this.aborted`; undo with `unlisten`.
   * @returns whether it listens: `false` when nothing can abort this call.
   */
  listen(listener: AbortListener): boolean {
    if (this.scope !== undefined) this.scope.listen(listener);
    else if (this.callerSignal !== undefined) watch(this.callerSignal, listener);
    else return false;
    return true;
  }

  unlisten(listener: AbortListener): void {
    if (this.scope !== undefined) this.scope.unlisten(listener);
    else if (this.callerSignal !== undefined) unwatch(this.callerSignal, listener);
  }

  withAttempt(attempt: number): Ctx {
    return attempt === this.attempt ? this : new Ctx(this.fn, attempt, this.scope, this.callerSignal, this.outer, this.budgets);
  }
}

/**
 * Whether the call was called off for a reason that is no failure of its
 * own: the caller's abort, or a hedge that lost. An enclosing timeout's
 * abort is not among them: a call too slow for it has failed, and a breaker
 * counts it, a fallback replaces it. Nor is the abort of a user's own
 * policy's signal: the caller is only who called the outermost `execute`.
 * A function, not a getter of Ctx: a bundle without a breaker or a fallback leaves it out.
 */
export function isCalledOff(ctx: Ctx): boolean {
  if (!ctx.aborted) return false;
  if (ctx.callerSignal?.aborted) return ctx.outer === undefined || isCalledOff(ctx.outer);
  const reason = ctx.reason as { name?: unknown } | null;
  return !(typeof reason === 'object' && reason?.name === 'TimeoutError');
}

/**
 * Whether `value` is an AbortSignal: of this realm (the fast path), or by its
 * brand, `[object AbortSignal]`, one of another realm (an iframe's, jsdom's
 * beside Node's own) or a polyfill's. An AbortController, passed by mistake
 * for its signal, is none.
 */
export function isSignal(value: unknown): value is AbortSignal {
  return value instanceof AbortSignal || {}.toString.call(value) === '[object AbortSignal]';
}

/**
 * A context inside a new abort scope, which the caller owns and must release.
 * A function rather than a method of Ctx, so a bundle whose policies never
 * fork (retry, fallback, breaker, bulkhead) leaves `Scope` out.
 */
export function fork(ctx: Ctx): Ctx {
  return new Ctx(ctx.fn, ctx.attempt, new Scope(ctx), ctx.callerSignal, ctx.outer, ctx.budgets);
}

/**
 * `next(ctx)`, with a throw turned into a rejection: `next` returns a promise
 * by contract, but a stage that throws anyway must still end as a failed call
 * (and not, say, keep a bulkhead slot).
 */
export function runNext(next: Next, ctx: Ctx): Promise<unknown> {
  try {
    return next(ctx);
  } catch (error) {
    return Promise.reject(error);
  }
}

/** The innermost stage of every pipeline: calls the user's function, always yielding a native promise. */
export function invoke(ctx: Ctx): Promise<unknown> {
  try {
    return settleOnce(ctx.fn(ctx));
  } catch (error) {
    return Promise.reject(error); // also a throwing `then` or `constructor` getter
  }
}

/**
 * `value` as a native promise that settles once. A policy counts on that: a
 * bulkhead frees its slot when the call settles. `Promise.resolve` returns as
 * it is any promise whose `constructor` is Promise — a native one (the fast
 * path), but also one with a `then` of its own; it adopts every other
 * thenable and Promise subclass through settle-once resolvers. May throw.
 */
export function settleOnce(value: unknown): Promise<unknown> {
  const promise = Promise.resolve(value);
  const then = Promise.prototype.then;
  // The native `then` of a native promise derives a native promise that follows it.
  return promise.then === then ? promise : (then.call(promise) as Promise<unknown>);
}

/**
 * Resolves after `ms`, or rejects with the abort reason as soon as `ctx` is
 * aborted. Always goes through a real timer, even for 0 ms, so a tight retry
 * loop still lets timers and I/O (an abort, an outer timeout) run.
 */
export function sleep(ms: number, ctx: Ctx): Promise<void> {
  if (ctx.aborted) return Promise.reject(ctx.reason);
  // Also when nothing can abort the call (listen and unlisten then do nothing): a delay is no hot path.
  return new Promise<void>((resolve, reject) => {
    // ctx.listen rather than ctx.signal: hearing an abort needs no AbortController.
    const onAbort: AbortListener = {
      handleEvent() {
        stopTimer(timer);
        reject(ctx.reason);
      },
    };
    const timer = startTimer(() => {
      ctx.unlisten(onAbort);
      resolve();
    }, ms);
    ctx.listen(onAbort);
  });
}
