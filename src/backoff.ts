import { MAX_TIMER } from './internal/timers.js';

/** How a computed delay is randomised. */
export type Jitter = 'none' | 'full' | 'equal' | 'decorrelated';

/** The exponential schedule of `retryWithBackoff`, options resolved. @internal */
// Named apart from the options they come from (initialDelay, multiplier, maxDelay,
// jitter, random): option names must stay, these the build shortens (tsup.config.ts).
export interface BackoffSchedule {
  /** `initialDelay` */
  readonly firstDelay: number;
  /** `multiplier` */
  readonly growth: number;
  /** `maxDelay` */
  readonly delayCap: number;
  /** `jitter` */
  readonly spread: Jitter;
  /** `undefined`: `Math.random`, read at each draw (so a stub set after creation applies). */
  readonly draw: (() => number) | undefined;
}

/**
 * The delay before retry number `retry` (1-based), given the previous delay
 * (for decorrelated jitter). Never above `maxDelay`.
 * @internal
 */
export function backoffDelay(s: BackoffSchedule, retry: number, previous: number): number {
  const d = Math.min(s.firstDelay * s.growth ** (retry - 1), s.delayCap);
  if (s.spread === 'none') return d;
  const r = (s.draw ?? Math.random)();
  if (s.spread === 'full') return r * d;
  if (s.spread === 'equal') return d / 2 + (r * d) / 2;
  // 'decorrelated', AWS's "decorrelated jitter": uniform in [initialDelay, 3 × previous].
  const low = s.firstDelay;
  return Math.min(s.delayCap, low + r * (Math.max(low, Math.min(3 * previous, MAX_TIMER * 1e3)) - low));
}
