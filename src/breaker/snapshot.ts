import { invalid } from '../internal/validate.js';
import type { WindowSnapshot } from './window.js';

/** The states of a `CircuitBreaker`. */
export type CircuitState = 'closed' | 'open' | 'half-open' | 'isolated';

/**
 * What `CircuitBreaker.toJSON()` returns and `initialState` takes: plain JSON.
 * Times are relative (ms left, ms ago), never clock readings, so a snapshot
 * moves between processes; `savedAt` (`Date.now()`) lets a restore subtract the
 * time that passed in between.
 *
 * @example
 * ```ts
 * import { CircuitBreaker, type CircuitBreakerSnapshot } from 'breakwater';
 *
 * const saved: CircuitBreakerSnapshot = JSON.parse(JSON.stringify(new CircuitBreaker().toJSON()));
 * const breaker = new CircuitBreaker({ initialState: saved });
 * ```
 */
export interface CircuitBreakerSnapshot {
  /** Format version. */
  readonly version: 1;
  /** The state when saved. A restored `'half-open'` resumes as open with its wait over. */
  readonly state: CircuitState;
  /** `Date.now()` when saved. */
  readonly savedAt: number;
  /** Ms left of the open wait (`open`), `null` for a wait without end; `0` otherwise. */
  readonly openRemaining: number | null;
  /** The wait the circuit last opened for, in ms (`null`: without end); a hung trial is replaced after this long. */
  readonly openDuration: number | null;
  /** Consecutive openings without closing in between. */
  readonly opens: number;
  /** Holds of `isolate()` (`isolated`); `0` otherwise. */
  readonly isolations: number;
  /** Consecutive failures while closed. */
  readonly consecutiveFailures: number;
  /** The calls in the window. */
  readonly window: WindowSnapshot;
}

const STATES: readonly CircuitState[] = ['closed', 'open', 'half-open', 'isolated'];

/** A whole number of calls (or openings, holds …) `>= 0`. */
function count(value: unknown): boolean {
  return Number.isInteger(value) && (value as number) >= 0;
}

/** Ms `>= 0`, or `null` for a wait without end. */
function wait(value: unknown): boolean {
  return value === null || (Number.isFinite(value) && (value as number) >= 0);
}

function validWindow(window: unknown): window is WindowSnapshot {
  // `?.`: a primitive has no `kind` either.
  const w = window as Record<string, unknown> | null | undefined;
  if (w?.kind === 'count') return typeof w.outcomes === 'string' && /^[0-3]*$/.test(w.outcomes) && count(w.rejections);
  if (w?.kind !== 'time' || !Array.isArray(w.buckets)) return false;
  // [age, calls, failures, slow, rejections]: failures and slow calls are among the calls.
  return w.buckets.every(
    (b: unknown) => Array.isArray(b) && b.length === 5 && Number.isFinite(b[0]) && b.slice(1).every(count) && b[2] <= b[1] && b[3] <= b[1],
  );
}

/** A wait for a snapshot: ms `>= 0`, `null` for one without end. @internal */
export function finite(ms: number): number | null {
  return ms === Infinity ? null : Math.max(0, ms);
}

/** Checks a snapshot given as `initialState`; throws a TypeError naming the option. */
export function parseSnapshot(owner: string, value: unknown): CircuitBreakerSnapshot | undefined {
  if (value === undefined) return undefined;
  const s = value as Partial<Record<keyof CircuitBreakerSnapshot, unknown>> | null;
  const ok =
    // `?.`: a primitive has no `version` either.
    s?.version === 1 &&
    STATES.includes(s.state as CircuitState) &&
    Number.isFinite(s.savedAt) &&
    // Only an open circuit has a wait left; only an isolated one has holds.
    (s.state === 'open' ? wait(s.openRemaining) : s.openRemaining === 0) &&
    wait(s.openDuration) &&
    count(s.opens) &&
    // A closed circuit has no openings to count, an open or half-open one at least one;
    // a half-open one came out of a wait that ended (a hung trial is replaced after it).
    (s.state === 'closed' ? s.opens === 0 : s.state === 'isolated' || (s.opens as number) > 0) &&
    (s.state !== 'half-open' || s.openDuration !== null) &&
    count(s.isolations) &&
    (s.isolations as number) > 0 === (s.state === 'isolated') &&
    count(s.consecutiveFailures) &&
    validWindow(s.window);
  if (!ok) invalid(owner, 'initialState', 'a snapshot from toJSON()', value);
  return value as CircuitBreakerSnapshot;
}
