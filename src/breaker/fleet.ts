// The seam between a CircuitBreaker's state machine and where its state lives.
// Without a store a breaker's own fields are its whole state. With one, they
// are this instance's view of the fleet's state, and the fleet glue
// (src/store/fleet-breaker.ts, reached through the store so that a breaker
// without one carries none of it) keeps the two in step: the machine tells it
// what happened here, and it moves the machine where the fleet went. Types
// only: the core imports no fleet code.
import type { Ctx } from '../internal/context.js';
import type { CircuitState } from './snapshot.js';
import type { CallWindow } from './window.js';

/** What the machine asks of the place its state is shared. @internal */
export interface BreakerFleet {
  /** The window rates are judged on: this instance's calls, plus the fleet's with a time window. */
  readonly tally: CallWindow;
  /** The view may be out of date (the sync stopped while the breaker was idle): calls take the slow path, to `ready`. */
  readonly stale: boolean;
  /**
   * Something the call must wait for before it is decided (one sync of a stale
   * view, or a trial lease in half-open), bounded by the store's timeout; it
   * rejects only with the call's abort. `undefined`: nothing, decide now.
   * A call waits once at most: after the wait it is decided without asking again.
   */
  ready(ctx: Ctx): Promise<void> | undefined;
  /** In half-open: takes a trial lease this instance holds; `undefined` while the store is down (local trials). */
  lease(): boolean | undefined;
  /**
   * A trial ended without failing: a success (`true`), or an outcome that counts neither way.
   * Returns `true` when the trial outlived its lease: the fleet no longer counts it, and its
   * success must not count here either (another instance may hold the lease now).
   */
  ended(success: boolean): boolean;
  /** The circuit opens here (a trip, or a failed trial: the state still reads as before), for `openFor` ms. */
  opened(openFor: number): void;
}

/**
 * What the glue uses of its breaker. It carries `isolate()` and `reset()` to
 * the fleet by wrapping them on the instance, so the machine has no hook for them.
 * @internal
 */
export interface BreakerHost {
  readonly state: CircuitState;
  isolate(): () => void;
  reset(): void;
  /** Opens the circuit as the fleet has it: until `dueAt` (this clock) after `opens` openings. */
  adopt(dueAt: number, openFor: number, opens: number): void;
}
