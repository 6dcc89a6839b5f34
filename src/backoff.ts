import { MAX_TIMER } from './internal/timers.js';

/** How a computed delay is randomised. */
export type Jitter = 'none' | 'full' | 'equal' | 'decorrelated';

/** The exponential schedule of `retryWithBackoff`, options resolved. @internal */
export interface BackoffSchedule {
  readonly initialDelay: number;
  readonly multiplier: number;
  readonly maxDelay: number;
  readonly jitter: Jitter;
  /** `undefined`: `Math.random`, read at each draw (so a stub set after creation applies). */
  readonly random: (() => number) | undefined;
}

/**
 * The delay before retry number `retry` (1-based), given the previous delay
 * (for decorrelated jitter). Never above `maxDelay`.
 * @internal
 */
export function backoffDelay(s: BackoffSchedule, retry: number, previous: number): number {
  const d = Math.min(s.initialDelay * s.multiplier ** (retry - 1), s.maxDelay);
  if (s.jitter === 'none') return d;
  const r = (s.random ?? Math.random)();
  if (s.jitter === 'full') return r * d;
  if (s.jitter === 'equal') return d / 2 + (r * d) / 2;
  // 'decorrelated', AWS's "decorrelated jitter": uniform in [initialDelay, 3 × previous].
  const low = s.initialDelay;
  return Math.min(s.maxDelay, low + r * (Math.max(low, Math.min(3 * previous, MAX_TIMER * 1e3)) - low));
}
