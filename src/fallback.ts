import { isCalledOff, type Ctx, type Next } from './internal/context.js';
import { objectOptions, readFunction } from './internal/validate.js';
import { PolicyBase, type PolicyContext } from './policy.js';
import type { Outcome } from './retry.js';

/** Options of {@link withFallback}. */
export interface FallbackOptions {
  /**
   * Which thrown errors are replaced by the fallback. The caller's own abort never is.
   * @default every error
   */
  readonly handle?: ((error: unknown) => boolean) | undefined;
  /**
   * Which returned values are replaced by the fallback (e.g. a 503 `Response`).
   * @default none
   */
  readonly handleResult?: ((value: unknown) => boolean) | undefined;
}

/** Events of {@link FallbackPolicy}. */
export interface FallbackEvents {
  /** The fallback replaced a failure: a thrown `error` or a handled `value`. */
  fallback: { readonly error?: unknown; readonly value?: unknown };
}

/** A fallback: a value, or a function of the failure that produces one. */
export type Fallback<F> = F | ((outcome: Outcome, ctx: PolicyContext) => F | PromiseLike<F>);

const OWNER = 'withFallback';

/**
 * Replaces a failure with a fallback value. Create it with {@link withFallback}.
 *
 * @example
 * ```ts
 * import { FallbackPolicy } from 'breakwater';
 *
 * const fallback = new FallbackPolicy<string[]>(() => []);
 * ```
 */
export class FallbackPolicy<F> extends PolicyBase<FallbackEvents, F> {
  // #private: minifiers shorten these names, plain properties they cannot (bench/bundle.mjs).
  readonly #fallback: Fallback<F>;
  readonly #handle: FallbackOptions['handle'];
  readonly #handleResult: FallbackOptions['handleResult'];

  constructor(fallback: Fallback<F>, options?: FallbackOptions) {
    super('fallback', OWNER);
    const o = objectOptions<FallbackOptions>(OWNER, options, 'handle handleResult');
    this.#fallback = fallback;
    this.#handle = readFunction(OWNER, 'handle', o);
    this.#handleResult = readFunction(OWNER, 'handleResult', o);
  }

  /** @internal */
  run(ctx: Ctx, next: Next): Promise<unknown> {
    // Reactions on next's promise rather than an async function: one promise
    // and one tick less per call on the happy path (measured in bench/).
    return next(ctx).then(
      this.#handleResult === undefined ? undefined : (value: unknown) => this.#checkValue(value, ctx),
      (error: unknown) => this.#checkError(error, ctx),
    );
  }

  #checkValue(value: unknown, ctx: Ctx): unknown {
    let failed: boolean;
    try {
      failed = this.#handleResult!(value);
    } catch (error) {
      return this.#checkError(error, ctx); // a throwing handleResult is a failure like any other
    }
    return failed ? this.#replace({ value }, ctx) : value;
  }

  #checkError(error: unknown, ctx: Ctx): unknown {
    // The caller's own abort is an answer from the caller, not a failure to hide.
    if (isCalledOff(ctx) || (this.#handle !== undefined && !this.#handle(error))) throw error;
    return this.#replace({ error }, ctx);
  }

  #replace(outcome: Outcome, ctx: Ctx): unknown {
    if (this.listeners.fallback !== undefined) {
      this.emit('fallback', outcome);
      // A listener that aborted the caller: the caller's abort is the answer, not a fallback.
      if (isCalledOff(ctx)) throw ctx.reason;
    }
    const fallback = this.#fallback;
    return typeof fallback === 'function' ? (fallback as (o: Outcome, c: PolicyContext) => unknown)(outcome, ctx) : fallback;
  }
}

/**
 * Creates a policy that answers with `fallback` when a call fails. `fallback`
 * is a value, or a function `(outcome, ctx) => value | Promise<value>`. To
 * fall back to a function itself, return it from a function.
 *
 * @example
 * ```ts
 * import { withFallback } from 'breakwater';
 *
 * const cached = withFallback((outcome) => ({ items: [], stale: true, error: 'error' in outcome ? outcome.error : undefined }));
 * const result = await cached.execute(async ({ signal }) => {
 *   const res = await fetch('https://api.example.com/items', { signal });
 *   return (await res.json()) as { items: string[] };
 * }); // { items: string[] } | the fallback
 * ```
 */
/* @__NO_SIDE_EFFECTS__ */
export function withFallback<F>(fallback: Fallback<F>, options?: FallbackOptions): FallbackPolicy<F> {
  return new FallbackPolicy(fallback, options);
}
