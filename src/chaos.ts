import { type Ctx, type Next, settleOnce, sleep } from './internal/context.js';
import { seededRandom } from './internal/random.js';
import { INFINITE, functionOption, invalid, numberOption, objectOptions } from './internal/validate.js';
import { PolicyBase, type PolicyContext } from './policy.js';

/** How much latency {@link chaos} injects: ms, a `[min, max]` range drawn uniformly, or a function of the call. */
export type ChaosLatency = number | readonly [min: number, max: number] | ((ctx: PolicyContext) => number);

/** Options of {@link chaos}. Each kind of injection is drawn independently, in this order: latency, fault, result. */
export interface ChaosOptions {
  /**
   * Whether anything is injected; a function is asked on every call, so chaos can be
   * switched at run time (a feature flag, an environment variable).
   * @default true
   */
  readonly enabled?: (boolean | (() => boolean)) | undefined;
  /**
   * Share of calls, in [0, 1], that throw `error` instead of calling `fn`.
   * @default 1 when `error` is given, else 0
   */
  readonly faultRate?: number | undefined;
  /**
   * What an injected fault throws: the value itself, or a factory `(ctx) => error` called per fault.
   * @default new Error('Injected fault (breakwater chaos)')
   */
  readonly error?: unknown | undefined;
  /**
   * Share of calls, in [0, 1], delayed by `latency` before going on.
   * @default 1 (when `latency` is given)
   */
  readonly latencyRate?: number | undefined;
  /**
   * Latency to inject, in ms: a number, a `[min, max]` range, or `(ctx) => ms`. The wait ends
   * at once, rejecting with the reason, when the caller or an enclosing policy aborts.
   * @default undefined (no latency)
   */
  readonly latency?: ChaosLatency | undefined;
  /**
   * Share of calls, in [0, 1], that return `result` instead of calling `fn`.
   * @default 1 when `result` is given, else 0
   */
  readonly resultRate?: number | undefined;
  /**
   * What an injected result returns: the value, or a factory `(ctx) => value` (a promise is
   * awaited). To inject a function, return it from a function; to inject `undefined`,
   * `() => undefined` (`undefined` itself means no result, like any option left undefined).
   * @default undefined (no result)
   */
  readonly result?: unknown | undefined;
  /**
   * Seed for a built-in pseudo-random generator, so a test sees the same faults on every run.
   * @default undefined (Math.random, looked up on every draw)
   */
  readonly seed?: number | undefined;
  /**
   * Source of randomness, uniform in [0, 1); replaces `seed`.
   * @default Math.random, looked up on every draw (so a test may stub it later)
   */
  readonly random?: (() => number) | undefined;
}

/** Events of {@link ChaosPolicy}. */
export interface ChaosEvents {
  /** A call was held back `delay` ms. */
  latency: { readonly delay: number };
  /** A call threw `error` without calling `fn`. */
  fault: { readonly error: unknown };
  /** A call returned `value` without calling `fn`. */
  result: { readonly value: unknown };
}

const OWNER = 'chaos';

function rate(name: string, value: unknown, given: boolean): number {
  return numberOption(OWNER, name, value, given ? 1 : 0, 0, 0, 1);
}

/**
 * Injects faults, latency and results at a (seedable) rate. Create it with {@link chaos}.
 *
 * @example
 * ```ts
 * import { ChaosPolicy } from 'breakwater';
 *
 * const monkey = new ChaosPolicy({ faultRate: 0.1, seed: 42 });
 * ```
 */
export class ChaosPolicy extends PolicyBase<ChaosEvents> {
  // #private: minifiers shorten these names, plain properties they cannot (bench/bundle.mjs).
  readonly #enabled: boolean | (() => boolean);
  readonly #random: () => number;
  readonly #faultRate: number;
  readonly #error: unknown;
  readonly #latencyRate: number;
  readonly #latency: ChaosLatency | undefined;
  readonly #resultRate: number;
  readonly #result: unknown;

  constructor(options?: ChaosOptions) {
    super('latency fault result', OWNER);
    const o = objectOptions<ChaosOptions>(OWNER, options, 'enabled faultRate error latencyRate latency resultRate result seed random');
    if (o.enabled !== undefined && typeof o.enabled !== 'boolean' && typeof o.enabled !== 'function') {
      invalid(OWNER, 'enabled', 'a boolean or a function', o.enabled);
    }
    this.#enabled = o.enabled ?? true;
    const seed = numberOption(OWNER, 'seed', o.seed, 0, 0, -Infinity);
    // Math.random looked up per draw, not captured here: a test may stub it after the policy exists.
    this.#random = functionOption<() => number>(OWNER, 'random', o.random) ?? (o.seed !== undefined ? seededRandom(seed) : () => Math.random());
    this.#faultRate = rate('faultRate', o.faultRate, o.error !== undefined);
    this.#error = o.error;
    this.#latency = checkLatency(o.latency);
    if (o.latencyRate !== undefined && this.#latency === undefined) {
      throw new TypeError(`${OWNER}: option "latencyRate" needs option "latency"`);
    }
    this.#latencyRate = rate('latencyRate', o.latencyRate, true);
    // `result: undefined` is no result, like every option set to undefined; to inject undefined, `result: () => undefined`.
    if (o.resultRate !== undefined && o.result === undefined) {
      throw new TypeError(`${OWNER}: option "resultRate" needs option "result" (to inject undefined: \`result: () => undefined\`)`);
    }
    this.#resultRate = rate('resultRate', o.resultRate, o.result !== undefined);
    this.#result = o.result;
  }

  /** @internal */
  run(ctx: Ctx, next: Next): Promise<unknown> {
    if (this.#enabled === false) return next(ctx);
    let delay = -1;
    try {
      if (this.#enabled !== true && !this.#enabled()) return next(ctx);
      if (this.#latency !== undefined && this.#draw(this.#latencyRate)) delay = this.#latencyFor(ctx);
    } catch (error) {
      return Promise.reject(error); // a throwing `enabled`, `latency` or `random`: the call fails, execute still returns a promise
    }
    if (delay < 0) return this.#inject(ctx, next);
    if (this.listeners.latency !== undefined) this.emit('latency', { delay });
    // An abort due at the instant the latency ends runs after its timer: look again before going on.
    return sleep(delay, ctx).then(() => (ctx.aborted ? Promise.reject(ctx.reason) : this.#inject(ctx, next)));
  }

  #inject(ctx: Ctx, next: Next): Promise<unknown> {
    try {
      if (this.#draw(this.#faultRate)) {
        const error = typeof this.#error === 'function' ? this.#error(ctx) : (this.#error ?? new Error('Injected fault (breakwater chaos)'));
        if (this.listeners.fault !== undefined) this.emit('fault', { error });
        return Promise.reject(error);
      }
      if (this.#draw(this.#resultRate)) {
        return settleOnce(typeof this.#result === 'function' ? this.#result(ctx) : this.#result).then((value) => {
          if (this.listeners.result !== undefined) this.emit('result', { value });
          return value;
        });
      }
    } catch (error) {
      return Promise.reject(error); // a factory that throws
    }
    return next(ctx);
  }

  // Rates of 0 and 1 draw nothing, so switching one injection on or off does
  // not shift the seeded sequence another one sees.
  #draw(p: number): boolean {
    return p >= 1 || (p > 0 && this.#random() < p);
  }

  #latencyFor(ctx: Ctx): number {
    const latency = this.#latency!;
    let ms: number;
    if (typeof latency === 'number') ms = latency;
    else if (typeof latency === 'function') ms = latency(ctx);
    else ms = latency[0] + this.#random() * (latency[1] - latency[0]);
    return ms >= 0 ? ms : 0;
  }
}

function checkLatency(latency: unknown): ChaosLatency | undefined {
  if (latency === undefined || typeof latency === 'function') return latency as ChaosLatency | undefined;
  if (Array.isArray(latency)) {
    if (latency.length !== 2) invalid(OWNER, 'latency', '[min, max]', latency);
    const min = numberOption(OWNER, 'latency[0]', latency[0], 0, INFINITE);
    const max = numberOption(OWNER, 'latency[1]', latency[1], 0, INFINITE);
    if (max < min) throw new RangeError(`${OWNER}: option "latency" must be [min, max] with min <= max, got [${min}, ${max}]`);
    return [min, max];
  }
  return numberOption(OWNER, 'latency', latency, 0, INFINITE);
}

/**
 * Creates a chaos policy, for testing a pipeline before production does:
 * it injects latency, faults and fake results into a share of calls (the idea
 * of Polly's Simmy). Seed it (`seed`) so a test sees the same faults every run;
 * switch it off in production with `enabled`.
 *
 * @example
 * ```ts
 * import { chaos, wrap, retryWithBackoff, withTimeout } from 'breakwater';
 *
 * const monkey = chaos({ faultRate: 0.2, latency: [50, 400], latencyRate: 0.3, seed: 7, enabled: process.env.CHAOS === '1' });
 * const pipeline = wrap(retryWithBackoff(), withTimeout(300), monkey);
 * await pipeline.execute(({ signal }) => fetch('https://api.example.com', { signal }));
 * ```
 */
/* @__NO_SIDE_EFFECTS__ */
export function chaos(options?: ChaosOptions): ChaosPolicy {
  return new ChaosPolicy(options);
}
