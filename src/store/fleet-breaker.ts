// A CircuitBreaker's fleet side, reached as store.fleet.breaker(...) so that a
// breaker without a store carries none of it. The breaker's state machine runs
// as it does alone, on its own fields, which here are this instance's view of
// the fleet's state; this glue keeps the two in step (breaker/fleet.ts). This
// file is the view: what a sync carries (calls counted here, an opening, ended
// trials, holds, a reset) and what its reply does (it moves the machine where
// the fleet went: adopt, reset, isolate; with a time window it judges the
// fleet's rates). Its pieces, each in a file of its own: when syncs run
// (fleet-sync.ts: no store round trip on the happy path), half-open trial
// leases (fleet-leases.ts), isolate() and reset() on the fleet
// (fleet-holds.ts), the window rates are judged on (fleet-tally.ts).
// - a stale view (the sync stopped while the breaker was idle): the next call
//   waits for one sync (bounded by the store's timeout) before it is decided;
// - when the store fails, the machine goes on alone on its own window
//   (`storeError` once), and the fleet's state replaces its own at the first
//   sync after the store answers again (`storeRecovered` once).
import type { BreakerFleet, BreakerHost } from '../breaker/fleet.js';
import type { CircuitBreakerOptions, ResolvedOptions } from '../breaker/options.js';
import type { CallWindow } from '../breaker/window.js';
import type { Ctx } from '../internal/context.js';
import { now } from '../internal/timers.js';
import { invalid, required } from '../internal/validate.js';
import type { BreakerReply, BreakerRequest } from './breaker-op.js';
import { FleetHolds } from './fleet-holds.js';
import { TrialLeases } from './fleet-leases.js';
import { abortable, BreakerSync } from './fleet-sync.js';
import { FleetTally } from './fleet-tally.js';
import { Outage } from './outage.js';
import type { Store, StoreLink } from './types.js';

const OWNER = 'CircuitBreaker';

/** The breaker's `emit` (protected on the class: the glue is part of the breaker). */
type Emit = (event: 'storeError' | 'storeRecovered', payload: { error: unknown } | { downtime: number }) => void;

let instances = 0;

/**
 * One CircuitBreaker's membership of the fleet. See the file's head for what it does.
 * @internal
 */
export class FleetBreaker implements BreakerFleet {
  readonly tally: FleetTally;
  /** The view may be out of date: the sync stopped (idle) or never ran. */
  stale = true;
  readonly #host: BreakerHost;
  readonly #o: ResolvedOptions;
  readonly #bucket: number;
  readonly #ttl: number;
  readonly #id: string;
  readonly #outage: Outage;
  readonly #leases = new TrialLeases();
  readonly #holds: FleetHolds;
  readonly #sync: BreakerSync;
  /** The store failed and has not answered since: the machine runs on its own. */
  #local = false;
  /** The fleet's generation as of the last reply (-1: none yet, or since an outage). */
  #generation = -1;
  /** To send with the next sync: the circuit opened here, for this many ms (-1: it did not). */
  #open = -1;
  /** Names given so far (`instance:n`, for leases and resets). */
  #names = 0;

  constructor(host: BreakerHost, link: StoreLink, key: string, o: ResolvedOptions, own: CallWindow, interval: number, emit: Emit) {
    this.#host = host;
    this.#o = o;
    this.#sync = new BreakerSync(link, key, interval, {
      take: (lease) => this.#take(lease),
      answered: (q, reply, sentAt) => this.#answered(q, reply, sentAt),
      failed: (q, error) => this.#failed(q, error),
      tick: () => {
        this.#leases.tick(); // unused leases go back
        return this.tally.tick();
      },
      rest: () => this.#rest(),
    });
    this.tally = new FleetTally(own);
    // Only a time window is shared: a count window is this instance's last calls (see the README).
    this.#bucket = o.windowDuration === undefined ? 0 : o.windowDuration / 10;
    this.#ttl = Math.max(60_000, 10 * interval, 2 * (o.windowDuration ?? 0));
    // Random, not crypto.randomUUID (secure contexts only in browsers): it only names leases and holds.
    this.#id = `${(++instances).toString(36)}.${Math.random().toString(36).slice(2, 12)}`;
    this.#outage = new Outage(link, (event, payload) => {
      emit(event, payload);
      // The store answers again: sync now rather than at the next tick (none while idle: the next
      // call does, unless holds or a reset are waiting to be sent).
      if (event !== 'storeRecovered') return;
      if (!this.stale) void this.#sync.flush();
      else if (this.#holds.pending) void this.#wake();
    });
    // isolate() and reset() act on the fleet: this instance's are carried to it from there.
    this.#holds = new FleetHolds(host, {
      name: () => this.#name(),
      want: () => this.#want(),
      forget: () => this.#forget(),
    });
  }

  ready(ctx: Ctx): Promise<void> | undefined {
    let wait: Promise<void> | undefined;
    if (this.stale) wait = this.#wake();
    else if (!this.#local && this.#leases.none && this.#host.state === 'half-open') wait = this.#sync.lease();
    return wait === undefined || !ctx.abortable ? wait : abortable(wait, ctx);
  }

  lease(): boolean | undefined {
    return this.#local ? undefined : this.#leases.take();
  }

  ended(success: boolean): boolean {
    if (this.#local || !this.#leases.running) return false;
    // Past its lease (it outlived the open wait) the trial is the fleet's no more.
    if (this.#leases.end(success)) return true;
    this.#want();
    return false;
  }

  opened(openFor: number): void {
    if (this.#local) return;
    if (this.#host.state === 'half-open') this.#leases.endOne();
    this.#open = openFor;
    this.#want();
  }

  #name(): string {
    return `${this.#id}:${++this.#names}`;
  }

  /** Drops what was to be sent about the current generation. */
  #forget(): void {
    this.#open = -1;
    this.#leases.forget();
    this.tally.forget();
  }

  /** Something happened here that the fleet should hear of soon. */
  #want(): void {
    if (this.stale) void this.#wake();
    else this.#sync.soon();
  }

  /** The first sync after the timer stopped; if the fleet turns out half-open, the call that woke it is a trial. */
  #wake(): Promise<void> {
    return this.#sync.wake(!this.#local);
  }

  /** Whether the sync may stop: nothing to send. The view is then stale until the next call syncs. */
  #rest(): boolean {
    // Holds and a reset still to send keep it going, but not in an outage: they are sent when the
    // store is back (#outage) or at the next call, and a breaker idle in an outage keeps no timer.
    const pending = !this.#local && this.#holds.pending;
    if (this.tally.newCalls !== 0 || this.#open !== -1 || this.#leases.released !== 0 || pending) return false;
    this.stale = true;
    return true;
  }

  /** The request for the next sync; what it carries is no longer pending. */
  #take(askLease: boolean): BreakerRequest {
    const t = this.tally;
    const o = this.#o;
    const leases = this.#leases;
    const holds = this.#holds;
    const lease = askLease ? this.#name() : '';
    const fresh = holds.sending();
    const q: BreakerRequest = {
      instance: this.#id,
      generation: this.#generation,
      calls: t.newCalls,
      failures: t.newFailures,
      slow: t.newSlow,
      bucket: this.#bucket,
      released: leases.released,
      successes: leases.successes,
      successThreshold: o.successThreshold,
      open: this.#open,
      lease,
      maxTrials: o.halfOpenMaxCalls,
      holds: holds.holds,
      fresh,
      resets: holds.resets,
      reset: holds.resetName,
      ttl: this.#ttl,
    };
    t.sent();
    this.#open = -1;
    leases.sent();
    holds.sent();
    return q;
  }

  #failed(q: BreakerRequest, error: unknown): void {
    // What the sync carried may or may not have been applied: counts, trials and an opening are
    // not sent again (they could count twice). Holds and a reset are, their outcome is the same.
    this.#holds.failed(q);
    this.#local = true;
    this.stale = false;
    this.#generation = -1; // the first reply after the outage replaces the machine's state
    this.#leases.drop();
    this.tally.shared = false;
    this.#outage.failed(error);
  }

  #answered(q: BreakerRequest, reply: BreakerReply, sentAt: number): void {
    this.#local = false;
    this.stale = false;
    const moved = reply.generation !== this.#generation;
    if (moved) {
      // What was pending belongs to the generation before: void (leases too, which the store dropped).
      this.#generation = reply.generation;
      this.#forget();
    }
    if (reply.leased) this.#leases.granted(sentAt, reply.openFor);
    this.#holds.answered(q, reply);
    this.#move(reply, moved);
    this.tally.replied(reply, this.#bucket > 0);
    if (this.tally.shared) this.#judge();
  }

  /**
   * The fleet's rates as the machine judges its own at each failure, on the
   * counts just read: so the fleet opens when it crosses a threshold between
   * syncs, though no instance saw the crossing in the calls it judged on.
   */
  #judge(): void {
    if (!this.tally.tripped(this.#o) || this.#host.state !== 'closed') return;
    // Closed: no openings since it closed. The fleet hears of it as of any opening here.
    const openFor = this.#o.openDuration(1);
    this.#open = openFor;
    this.#host.adopt(now() + openFor, openFor, 1);
    this.#want();
  }

  /** Moves the machine where the fleet went (after the holds: a reset elsewhere may have moved it). */
  #move(reply: BreakerReply, moved: boolean): void {
    if (!moved) return;
    const host = this.#host;
    const state = host.state;
    // Isolated here: the fleet is, or soon will be (this instance's holds are on their way).
    // Open here: its wait stands (a few ms from the fleet's). Half-open here and there: nothing to move.
    if (reply.open) {
      if (state === 'closed' || (state === 'half-open' && reply.wait > 0)) host.adopt(now() + reply.wait, reply.openFor, reply.opens);
    } else if (state === 'open' || state === 'half-open') this.#holds.reset();
  }
}

/**
 * The fleet side of a `CircuitBreaker` with a store (called by its constructor,
 * whose resolveOptions checked `syncInterval` already, with a store or without).
 * @throws TypeError when `key` is missing or not a non-empty string.
 * @internal
 */
export function fleetBreaker(host: BreakerHost, o: ResolvedOptions, own: CallWindow, options: CircuitBreakerOptions): FleetBreaker {
  const store = o.store as Store;
  const { key } = options;
  if (key === undefined) required(OWNER, 'key');
  // Checked here, not in resolveOptions: without a store nothing reads it, and the core bundle has no room.
  if (typeof key !== 'string' || key === '') invalid(OWNER, 'key', 'a non-empty string', key);
  const interval = options.syncInterval ?? 1_000;
  const emit = (host as unknown as { emit: Emit }).emit.bind(host);
  return new FleetBreaker(host, store.link, key, o, own, interval, emit);
}
