import { MAX_TIMER } from '../internal/timers.js';
import { Flag, invalid, objectOptions, readFunction, readNumber } from '../internal/validate.js';
import type { Store } from '../store/types.js';
import { parseSnapshot, type CircuitBreakerSnapshot, type CircuitState } from './snapshot.js';

/** Options of `CircuitBreaker`. */
export interface CircuitBreakerOptions {
  /**
   * Consecutive failures that open the circuit: the simple strategy, in force
   * unless `failureRateThreshold` is set. `Infinity` never opens on it.
   * @default 5
   */
  readonly failureThreshold?: number | undefined;
  /**
   * In (0, 1]: open when failures / calls in the window `>=` this, once the
   * window holds `minimumCalls`. Replaces `failureThreshold`.
   * @default undefined
   */
  readonly failureRateThreshold?: number | undefined;
  /**
   * Calls the window must hold before a rate (failure or slow-call) counts.
   * For a count window it may not exceed `windowSize`.
   * @default 10 (or `windowSize`, if smaller, for a count window)
   */
  readonly minimumCalls?: number | undefined;
  /**
   * Count-based window: the rates are taken over the last `windowSize` calls.
   * @default 100
   */
  readonly windowSize?: number | undefined;
  /**
   * Time-based window in ms: the rates are taken over the calls that ended in
   * the last `windowDuration` ms (in 10 buckets). Replaces `windowSize` when set.
   * @default undefined
   */
  readonly windowDuration?: number | undefined;
  /**
   * A call that takes at least this many ms counts as slow.
   * @default undefined
   */
  readonly slowCallDuration?: number | undefined;
  /**
   * In (0, 1]: open when slow calls / calls in the window `>=` this, once the
   * window holds `minimumCalls`. Needs `slowCallDuration`. Combines with either
   * failure strategy; a slow trial call in `half-open` reopens the circuit.
   * @default undefined
   */
  readonly slowCallRateThreshold?: number | undefined;
  /**
   * Ms the circuit stays `open` before trial calls are let through; or
   * `(opens) => ms`, where `opens` counts consecutive openings from 1 (reset
   * when the circuit closes), for a growing wait. `Infinity`: until `reset()`.
   * A function's result that is not a number `>= 0` (`NaN`, negative, not a
   * number) means no wait; if it throws, 30 000 ms. A trial call counts as hung
   * (and another is admitted) after the same wait, or 30 000 ms after a wait of 0.
   * @default 30_000
   */
  readonly openDuration?: (number | ((opens: number) => number)) | undefined;
  /**
   * Trial calls admitted at once in `half-open`; calls beyond them are rejected at once.
   * @default 1
   */
  readonly halfOpenMaxCalls?: number | undefined;
  /**
   * Successful trial calls needed to close the circuit again.
   * @default 1
   */
  readonly successThreshold?: number | undefined;
  /**
   * Which thrown errors count as failures. Others count neither as failure nor
   * as success. The caller's own abort never counts, whatever this says.
   * @default every error
   */
  readonly handle?: ((error: unknown) => boolean) | undefined;
  /**
   * Which returned values count as failures (e.g. a 503 `Response`).
   * @default none
   */
  readonly handleResult?: ((value: unknown) => boolean) | undefined;
  /**
   * A value from `toJSON()`, to resume a breaker where it was.
   * @default undefined
   */
  readonly initialState?: CircuitBreakerSnapshot | undefined;
  /**
   * Fleet state: breakers with the same store and `key`, in any number of
   * processes, share one state (see the README, "Running as a fleet"). Made by
   * `createRedisStore`, `createMemoryStore` or `createStore`.
   * @default undefined (a state of this breaker's own)
   */
  readonly store?: Store | undefined;
  /**
   * The shared state's name in the store: a non-empty string, required with `store`.
   * @default undefined
   */
  readonly key?: string | undefined;
  /**
   * With a store: ms between this instance's syncs with the fleet (its counts
   * sent, the fleet's state read), so how stale its view may be.
   * @default 1000
   */
  readonly syncInterval?: number | undefined;
}

/** @internal Options resolved and checked, once. */
export interface ResolvedOptions {
  readonly failureThreshold: number;
  readonly failureRate: number | undefined;
  readonly minimumCalls: number;
  readonly windowSize: number;
  readonly windowDuration: number | undefined;
  readonly slowCallDuration: number | undefined;
  readonly slowRate: number | undefined;
  readonly openDuration: (opens: number) => number;
  readonly halfOpenMaxCalls: number;
  readonly successThreshold: number;
  readonly handle: ((error: unknown) => boolean) | undefined;
  readonly handleResult: ((value: unknown) => boolean) | undefined;
  readonly initialState: CircuitBreakerSnapshot | undefined;
  readonly store: Store | undefined;
}

const OWNER = 'CircuitBreaker';

/** @internal */
export function resolveOptions(options: unknown): ResolvedOptions {
  const o = objectOptions<CircuitBreakerOptions>(
    OWNER,
    options,
    'failureThreshold failureRateThreshold minimumCalls windowSize windowDuration slowCallDuration slowCallRateThreshold openDuration halfOpenMaxCalls successThreshold handle handleResult initialState store key syncInterval',
  );
  const windowDuration = readNumber(OWNER, 'windowDuration', o, undefined, Flag.ABOVE);
  const windowSize = readNumber(OWNER, 'windowSize', o, 100, Flag.INTEGER, 1);
  let minimumCalls = readNumber(OWNER, 'minimumCalls', o, 10, Flag.INTEGER, 1);
  if (windowDuration === undefined && minimumCalls > windowSize) {
    if (o.minimumCalls !== undefined) {
      // The window could never hold more calls than its size.
      invalid(OWNER, 'minimumCalls', `at most "windowSize" (${windowSize})`, minimumCalls, RangeError);
    }
    minimumCalls = windowSize;
  }
  const slowCallDuration = readNumber(OWNER, 'slowCallDuration', o, undefined, Flag.INFINITE);
  const slowRate = readNumber(OWNER, 'slowCallRateThreshold', o, undefined, Flag.ABOVE, 0, 1);
  if (slowRate !== undefined && slowCallDuration === undefined) {
    invalid(OWNER, 'slowCallRateThreshold', 'set with "slowCallDuration"', slowRate);
  }
  // The fleet's options are checked with a store or without (its glue, which reads them, is not in every bundle).
  readNumber(OWNER, 'syncInterval', o, 0, Flag.ABOVE, 0, MAX_TIMER);
  const store = o.store;
  let openDuration: (opens: number) => number;
  if (typeof o.openDuration === 'function') {
    const custom = o.openDuration;
    // A schedule that returns NaN, a negative number or no number means no wait; one that
    // throws gets the default wait (it runs inside a call's settlement, where
    // an error of its own must not replace the call's outcome).
    openDuration = (opens) => {
      let ms: number;
      try {
        ms = custom(opens);
      } catch {
        return 30_000;
      }
      return typeof ms === 'number' && ms >= 0 ? ms : 0;
    };
  } else {
    const fixed = readNumber(OWNER, 'openDuration', o, 30_000, Flag.INFINITE);
    openDuration = () => fixed;
  }
  return {
    failureRate: readNumber(OWNER, 'failureRateThreshold', o, undefined, Flag.ABOVE, 0, 1),
    failureThreshold: readNumber(OWNER, 'failureThreshold', o, 5, Flag.INTEGER | Flag.INFINITE, 1),
    minimumCalls,
    windowSize,
    windowDuration,
    slowCallDuration,
    slowRate,
    openDuration,
    halfOpenMaxCalls: readNumber(OWNER, 'halfOpenMaxCalls', o, 1, Flag.INTEGER, 1),
    successThreshold: readNumber(OWNER, 'successThreshold', o, 1, Flag.INTEGER, 1),
    handle: readFunction(OWNER, 'handle', o),
    handleResult: readFunction(OWNER, 'handleResult', o),
    initialState: parseSnapshot(OWNER, o.initialState),
    // Duck-typed: a Store of another copy of breakwater works too. (`null` means none, as `undefined` does.)
    store: store && ((store as Partial<Store>).fleet?.breaker ? store : invalid(OWNER, 'store', 'a Store', store)),
  };
}

export type { CircuitState };
