// A fleet CircuitBreaker's half-open trial leases, as this instance holds them
// (part of fleet-breaker.ts). In half-open a trial runs only on a lease the
// store granted (breaker-op.ts), so the fleet runs at most `halfOpenMaxCalls`
// at once. Here: the leases granted and not yet used, the trials running on
// one, and what goes back to the store at the next sync (the leases of ended
// trials, and the successes among them). Apart from the sync, which only
// carries these numbers, so that the rules of a lease's life read in one place.
import { now } from '../internal/timers.js';

/** A trial's lease after an open wait of 0 (breaker-op.ts). */
const NO_WAIT_LEASE = 30_000;

/**
 * The trial leases of one fleet breaker.
 * @internal
 */
export class TrialLeases {
  // To send with the next sync.
  /** Trials that ended (and leases given back unused): that many leases are released. */
  released = 0;
  /** Of those, trials that succeeded. */
  successes = 0;
  /**
   * Leases granted and not yet used, oldest first: for each, the time (this clock) until
   * which it surely lives (its sync was sent before the store granted it).
   */
  readonly #free: number[] = [];
  /** Of those, the ones granted since the last tick (kept until the next: see {@link tick}). */
  #young = 0;
  /** Leases of trials running; until when the newest of them surely lives. */
  #trials = 0;
  #trialEnd = 0;

  /** No lease is free: a trial needs one asked for. */
  get none(): boolean {
    return this.#free.length === 0;
  }

  /** A trial of this instance's is running on a lease. */
  get running(): boolean {
    return this.#trials !== 0;
  }

  /** The store granted the lease a sync sent at `sentAt` asked for; it lives `openFor` ms (the fleet's open wait). */
  granted(sentAt: number, openFor: number): void {
    this.#free.push(sentAt + (openFor > 0 ? openFor : NO_WAIT_LEASE));
    this.#young++;
  }

  /** Takes a free lease for a trial, if there is one. */
  take(): boolean {
    const end = this.#free.shift();
    if (end === undefined) return false;
    this.#young = Math.min(this.#young, this.#free.length);
    this.#trialEnd = end;
    this.#trials++;
    return true;
  }

  /**
   * A running trial ended without failing. Returns `true` when it outlived its lease: the
   * store dropped the lease and may have granted it to another instance, whose trial is the
   * one that counts; nothing to release (that would end a live lease of this instance's).
   * Else its lease goes back at the next sync, with its success.
   */
  end(success: boolean): boolean {
    if (now() >= this.#trialEnd) {
      this.#trials--;
      return true;
    }
    this.endOne();
    if (success) this.successes++;
    return false;
  }

  /** One of this instance's trials (on a lease of the current generation) ended: its lease goes back. */
  endOne(): void {
    if (this.#trials === 0) return;
    this.#trials--;
    this.released++;
  }

  /**
   * The sync's tick: a lease nobody used for a whole interval is given back. One granted
   * since the last tick is kept until the next: calls that come in step with the syncs (each
   * finding one in flight, its lease on the next) would otherwise see every lease given back
   * before they come.
   */
  tick(): void {
    const unused = this.#free.length - this.#young;
    this.released += unused;
    this.#free.splice(0, unused);
    this.#young = 0;
  }

  /** Sent with a sync: no longer pending. */
  sent(): void {
    this.released = this.successes = 0;
  }

  /** The store failed: the leases held here are the fleet's no more (what is to be released still goes). */
  drop(): void {
    this.#trials = this.#young = this.#free.length = 0;
  }

  /** The fleet moved to another generation (or was reset): every lease and what was to be sent about them is void. */
  forget(): void {
    this.released = this.successes = 0;
    this.drop();
  }
}
