import { MAX_TIMER } from './internal/timers.js';

/** How a computed delay is randomised. */
export type Jitter = 'none' | 'full' | 'equal' | 'decorrelated';

/** The exponential schedule of `retryWithBackoff`, options resolved. @internal */
export interface BackoffSchedule {
  readonly initialDelay: number;
  readonly multiplier: number;
  readonly maxDelay: number;
  readonly jitter: Jitter;
  readonly random: () => number;
}

/**
 * The delay before retry number `retry` (1-based), given the previous delay
 * (for decorrelated jitter). Never above `maxDelay`.
 * @internal
 */
export function backoffDelay(s: BackoffSchedule, retry: number, previous: number): number {
  const d = Math.min(s.initialDelay * s.multiplier ** (retry - 1), s.maxDelay);
  switch (s.jitter) {
    case 'none':
      return d;
    case 'full':
      return s.random() * d;
    case 'equal':
      return d / 2 + (s.random() * d) / 2;
    case 'decorrelated': {
      // AWS's "decorrelated jitter": uniform in [initialDelay, 3 × previous].
      const high = Math.max(s.initialDelay, Math.min(3 * previous, MAX_TIMER * 1e3));
      return Math.min(s.maxDelay, s.initialDelay + s.random() * (high - s.initialDelay));
    }
  }
}
