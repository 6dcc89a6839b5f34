import type { CircuitState } from './snapshot.js';

/** What `stats()` returns: counts over the current window. */
export interface CircuitBreakerStats {
  readonly state: CircuitState;
  /** Calls recorded in the window (failures and successes, not unhandled errors). */
  readonly calls: number;
  readonly failures: number;
  /** Calls that took at least `slowCallDuration` (0 without it). */
  readonly slowCalls: number;
  /** Calls rejected without running, since the circuit last closed (in the window, for a time window). */
  readonly rejections: number;
}

/** Events of {@link CircuitBreaker}. */
export interface CircuitBreakerEvents {
  /** The state changed. */
  stateChange: { readonly from: CircuitState; readonly to: CircuitState };
  /** The circuit opened on this outcome (a failure, or a slow call's value). */
  open: { readonly error?: unknown; readonly value?: unknown };
  /** The open wait passed: trial calls are admitted (fired when the breaker is next used or read; no timer is kept). */
  halfOpen: Readonly<Record<never, never>>;
  /** The circuit closed. */
  close: Readonly<Record<never, never>>;
  /** A call was rejected without running. */
  rejected: { readonly state: 'open' | 'half-open' | 'isolated' };
  /**
   * A call succeeded after `duration` ms. Only calls that started while
   * something listened to `success` or `failure` (or with `slowCallDuration`
   * set) are timed: a call already in flight when the first listener
   * subscribed is reported without `duration`.
   */
  success: { readonly duration?: number };
  /** A call failed after `duration` ms (absent as for `success`), with a thrown `error` or a handled `value`. */
  failure: { readonly duration?: number; readonly error?: unknown; readonly value?: unknown };
  /** With a store: it failed (an error, or slower than its `timeout`); the breaker goes on alone, on its own window. Once per outage. */
  storeError: { readonly error: unknown };
  /** With a store: it answers again after `downtime` ms; the fleet's state replaces this breaker's at the next sync. */
  storeRecovered: { readonly downtime: number };
}
