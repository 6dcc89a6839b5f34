import { Emitter } from './events.js';
import { Ctx, invoke, isSignal, settleOnce, type Next } from './internal/context.js';
import { finals } from './internal/final.js';
import { mustBe } from './internal/validate.js';

/**
 * What `fn` receives from `execute`.
 *
 * @example
 * ```ts
 * import { withTimeout } from 'breakwater';
 *
 * await withTimeout(5_000).execute((ctx) => fetch('https://example.com', { signal: ctx.signal }));
 * ```
 */
export interface PolicyContext {
  /**
   * Aborts when the caller's signal aborts or an enclosing policy (a timeout,
   * a hedge that lost) gives up on this call. Pass it on to fetch / your driver.
   */
  readonly signal: AbortSignal;
  /** 1-based number of the current attempt of the nearest enclosing retry; 1 without one. */
  readonly attempt: number;
}

/**
 * Anything with this `execute` is a policy, the built-in ones and your own.
 * `W` is what the policy may return instead of `fn`'s value (a fallback's type);
 * `never` for most. In `wrap`, your policy may hand `fn` the signal it got, or
 * one of its own that follows it: the policies inside still tell an enclosing
 * timeout (a failure) from the caller's own abort. Passing `attempt: 1` keeps
 * the enclosing retry's `ctx.attempt`; a higher number is your policy's own.
 *
 * @example
 * ```ts
 * import { wrap, retryWithBackoff, type Policy } from 'breakwater';
 *
 * const logging: Policy = {
 *   async execute(fn, signal) {
 *     const started = performance.now();
 *     // Hand fn the signal you were given, so aborts reach it. Attempt 1: this policy numbers
 *     // no attempts of its own, so inside wrap() fn keeps the enclosing retry's number.
 *     try { return await fn({ signal: signal ?? new AbortController().signal, attempt: 1 }); }
 *     finally { console.log(`attempt took ${performance.now() - started} ms`); }
 *   },
 * };
 * const pipeline = wrap(retryWithBackoff(), logging); // logs every attempt
 * ```
 */
export interface Policy<W = never> {
  /**
   * Runs `fn` under this policy. Always returns a promise. If `signal` is
   * already aborted, `fn` is not called and the promise rejects with
   * `signal.reason`. A `fn` that is no function, or a `signal` that is no
   * AbortSignal (`undefined` and `null` mean none), rejects at once with a
   * `TypeError`: nothing is called, counted or started.
   */
  execute<T>(fn: (ctx: PolicyContext) => T | PromiseLike<T>, signal?: AbortSignal): Promise<T | W>;
}

/**
 * Base of the built-in policies: events, and `execute` on top of an internal
 * stage that `wrap` chains without allocating per call. Exported as a type
 * only: write your own policy as an object with `execute` (see {@link Policy}).
 *
 * @example
 * ```ts
 * import { retryWithBackoff, type PolicyBase } from 'breakwater';
 *
 * const policies: PolicyBase<object, unknown>[] = [retryWithBackoff()];
 * ```
 */
export abstract class PolicyBase<E extends object = Record<never, never>, W = never> extends Emitter<E> implements Policy<W> {
  /** Type-only: what this policy may return instead of `fn`'s value. No runtime field. */
  declare readonly '~widen': [W];
  // #private: a minified name. A string of its own, not `constructor.name`, which minifiers mangle.
  readonly #name: string;

  /**
   * @param events the names of `E`'s events, space-separated.
   * @param name how `execute`'s argument errors name the policy.
   */
  constructor(events: string, name: string) {
    super(events);
    this.#name = name;
  }

  execute<T>(fn: (ctx: PolicyContext) => T | PromiseLike<T>, signal?: AbortSignal): Promise<T | W> {
    // `?? undefined`: fetch's RequestInit.signal may be null, and JS callers pass it on.
    const caller = signal ?? undefined;
    // Programmer errors: rejected before anything is counted, started or listened to.
    if (typeof fn !== 'function') return Promise.reject(mustBe(`${this.#name}.execute: fn`, 'a function', fn));
    if (caller !== undefined) {
      if (!isSignal(caller)) return Promise.reject(mustBe(`${this.#name}.execute: signal`, 'an AbortSignal', caller));
      if (caller.aborted) return Promise.reject(caller.reason);
    }
    return this.run(new Ctx(fn, 1, undefined, caller), invoke) as Promise<T | W>;
  }

  /**
   * Runs the rest of the pipeline, `next`, under this policy.
   * @internal
   */
  abstract run(ctx: Ctx, next: Next): Promise<unknown>;
}

/** The union of what a list of policies may return instead of `fn`'s value. */
// Read from a type-only field: TypeScript cannot infer `W` back from a generic `execute`.
export type WidenedBy<P> = P extends { readonly '~widen': [infer W] } ? W : never;

/**
 * Policies chained by {@link wrap}; a Policy itself, so wraps nest.
 *
 * @example
 * ```ts
 * import { wrap, retryWithBackoff, withTimeout } from 'breakwater';
 *
 * const pipeline = wrap(retryWithBackoff(), withTimeout(1_000));
 * console.log(pipeline.policies.length); // 2
 * ```
 */
export class PolicyWrap<W = never> extends PolicyBase<Record<never, never>, W> {
  /** The policies, outermost first (nested wraps flattened). */
  declare readonly policies: readonly Policy<unknown>[]; // declared: the constructor creates it (bench/bundle.mjs)
  readonly #entry: Next; // #private: a minified name

  constructor(policies: readonly Policy<unknown>[]) {
    super('', 'wrap'); // a wrap has no events of its own
    const flat: Policy<unknown>[] = [];
    for (const policy of policies) {
      if (policy === null || typeof policy !== 'object' || typeof policy.execute !== 'function') {
        throw mustBe('wrap: every argument', 'a policy', policy);
      }
      flat.push(...(policy instanceof PolicyWrap ? policy.policies : [policy]));
    }
    this.policies = flat;
    // Built once: each stage calls the next one, so a call through the
    // pipeline allocates no closures for built-in policies.
    this.#entry = flat.reduceRight<Next>((next, policy) => stage(policy, next), invoke);
  }

  /** @internal */
  run(ctx: Ctx): Promise<unknown> {
    // `next` is always `invoke`: only execute runs a wrap, as a wrap inside a
    // wrap is flattened into it and so never becomes a stage.
    return this.#entry(ctx);
  }
}

function stage(policy: Policy<unknown>, next: Next): Next {
  if (policy instanceof PolicyBase) return (ctx) => policy.run(ctx, next);
  // A user's own policy only knows execute(fn, signal): hand it the signal,
  // and continue with whatever context it gives back.
  return (ctx) => {
    try {
      return settleOnce(
        policy.execute((inner) => {
          const c = within(ctx, inner);
          // A policy that waited, ignoring its signal, and calls fn after the call was aborted
          // (outside it, or through the signal it handed on): nothing starts.
          const off = ctx.aborted ? ctx : c;
          return off.aborted ? Promise.reject(off.reason) : next(c);
        }, ctx.signal),
      );
    } catch (error) {
      return Promise.reject(error);
    }
  };
}

/**
 * The context inside a user's own policy, from the one it gave `fn`. It
 * follows that policy's signal, and keeps `ctx` as its outer call: an abort
 * that comes through that signal is classified as `ctx` would classify it.
 * A user's policy has no attempt number to pass on and passes 1 (the
 * contract's "1 without a retry"): `ctx.attempt` stays, unless the policy
 * numbers attempts of its own. The budgets told of the call stay told.
 */
function within(ctx: Ctx, inner: Partial<PolicyContext> | undefined): Ctx {
  const signal = inner?.signal ?? undefined;
  if (signal !== undefined && !isSignal(signal)) {
    finals.add(ctx.fn); // a programmer's error: an enclosing retry or hedge gives up at once, as execute would have
    throw mustBe('wrap.execute: ctx.signal', 'an AbortSignal', signal);
  }
  const attempt = inner?.attempt as number;
  return new Ctx(ctx.fn, attempt > 1 ? attempt : ctx.attempt, undefined, signal ?? ctx.signal, ctx, ctx.budgets);
}


/**
 * Chains policies into one: the first is outermost, `fn` runs inside the last
 * (the order of Polly and cockatiel). `wrap()` with no policies runs `fn` directly.
 *
 * @example
 * ```ts
 * import { wrap, withFallback, retryWithBackoff, withTimeout } from 'breakwater';
 *
 * const pipeline = wrap(withFallback(null), retryWithBackoff({ maxRetries: 2 }), withTimeout(2_000));
 * const user = await pipeline.execute(({ signal }) => fetch('https://api.example.com/user', { signal }).then((r) => r.json()));
 * ```
 */
/* @__NO_SIDE_EFFECTS__ */
export function wrap<const P extends readonly Policy<any>[]>(...policies: P): PolicyWrap<WidenedBy<P[number]>> {
  return new PolicyWrap(policies);
}
