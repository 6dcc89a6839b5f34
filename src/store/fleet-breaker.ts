// A CircuitBreaker's fleet side, reached as store.fleet.breaker(...) so that a
// breaker without a store carries none of it. The breaker's state machine runs
// as it does alone, on its own fields, which here are this instance's view of
// the fleet's state; this glue keeps the two in step (breaker/fleet.ts):
// - no store round trip on the happy path: calls are counted here and sent,
//   with whatever else happened (an opening, ended trials, isolation holds, a
//   reset), in one sync per `syncInterval`, whose reply is the fleet's state;
//   a move of the machine's own (an opening, an ended trial, a hold) is sent at
//   once, at most one such sync between two periodic ones;
// - the reply moves the machine where the fleet went (adopt, reset, isolate);
// - half-open trials need a lease from the store (fleet-leases.ts);
// - isolate() and reset() act on the fleet (fleet-holds.ts);
// - the timer stops after IDLE ms (5 intervals at least) without a call, so a dropped
//   breaker is garbage; the view is then stale, and the next call waits for one
//   sync (bounded by the store's timeout) before it is decided;
// - when the store fails, the machine goes on alone on its own window
//   (`storeError` once), and the fleet's state replaces its own at the first
//   sync after the store answers again (`storeRecovered` once).
import type { BreakerFleet, BreakerHost } from '../breaker/fleet.js';
import type { CircuitBreakerOptions, ResolvedOptions } from '../breaker/options.js';
import type { CallWindow } from '../breaker/window.js';
import type { AbortListener, Ctx } from '../internal/context.js';
import { now } from '../internal/timers.js';
import { invalid, required } from '../internal/validate.js';
import type { BreakerReply, BreakerRequest } from './breaker-op.js';
import { FleetHolds } from './fleet-holds.js';
import { TrialLeases } from './fleet-leases.js';
import { FleetTally } from './fleet-tally.js';
import { Outage } from './outage.js';
import type { Store, StoreBackend, StoreLink } from './types.js';

const OWNER = 'CircuitBreaker';
/**
 * The sync stops after this many ms without a call (at least 5 intervals): the
 * view, `state` included, stays fresh through lulls, and a dropped breaker is
 * garbage soon after.
 */
const IDLE = 10_000;

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
  readonly #link: StoreLink;
  readonly #key: string;
  readonly #o: ResolvedOptions;
  readonly #interval: number;
  /** Ticks without a call after which the sync stops. */
  readonly #idleTicks: number;
  readonly #bucket: number;
  readonly #ttl: number;
  readonly #id: string;
  readonly #outage: Outage;
  readonly #leases = new TrialLeases();
  readonly #holds: FleetHolds;
  #timer: ReturnType<typeof setTimeout> | undefined = undefined;
  /** The sync in flight: at most one; `#again` sends another when it settles. */
  #busy: Promise<void> | undefined = undefined;
  #again = false;
  /** The sync in flight asks for a trial lease. */
  #leasing = false;
  /** A sync outside the period was sent in this interval (at most one). */
  #urgent = false;
  /** The store failed and has not answered since: the machine runs on its own. */
  #local = false;
  /** The fleet's generation as of the last reply (-1: none yet, or since an outage). */
  #generation = -1;
  // To send with the next sync.
  #open = -1;
  #askLease = false;
  /** When the sync in flight was sent. */
  #sentAt = 0;
  /** Names given so far (`instance:n`, for leases and resets). */
  #names = 0;
  /** Ticks in a row without a call. */
  #idle = 0;
  readonly #tick = (): void => this.#ticked();

  constructor(host: BreakerHost, link: StoreLink, key: string, o: ResolvedOptions, own: CallWindow, interval: number, emit: Emit) {
    this.#host = host;
    this.#link = link;
    this.#key = key;
    this.#o = o;
    this.#interval = interval;
    this.#idleTicks = Math.max(5, Math.ceil(IDLE / interval));
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
      if (!this.stale) void this.#flush();
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
    else if (!this.#local && this.#leases.none && this.#host.state === 'half-open') {
      // A trial needs a lease. One asked for already, in the sync in flight: its answer decides
      // this call too. Else ask for one (once per interval; calls meanwhile are turned away).
      if (this.#leasing) wait = this.#busy;
      else if (!this.#urgent) {
        this.#urgent = this.#askLease = true;
        wait = this.#flush();
      }
    }
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
    const t = this.tally;
    t.newCalls = t.newFailures = t.newSlow = 0;
  }

  /** Something happened here that the fleet should hear of soon. */
  #want(): void {
    if (this.stale) void this.#wake();
    else if (!this.#urgent) {
      this.#urgent = true;
      void this.#flush();
    }
    // Else the next tick carries it.
  }

  /** The first sync after the timer stopped: it starts a new interval (calls that find it in flight wait for it). */
  #wake(): Promise<void> {
    if (this.#busy !== undefined && this.#timer !== undefined) return this.#busy;
    this.#urgent = false;
    this.#idle = 0;
    this.#arm();
    // If the fleet turns out half-open, the call that woke it is a trial.
    this.#askLease = !this.#local;
    return this.#flush();
  }

  #arm(): void {
    if (this.#timer !== undefined) return;
    const timer = (this.#timer = setTimeout(this.#tick, this.#interval));
    (timer as { unref?: () => void }).unref?.();
  }

  #ticked(): void {
    this.#timer = undefined;
    this.#urgent = false;
    this.#leases.tick();
    const t = this.tally;
    this.#idle = t.active || this.#busy !== undefined ? 0 : this.#idle + 1;
    t.active = false;
    // Holds and a reset still to send keep it going, but not in an outage: they are sent when the
    // store is back (#outage) or at the next call, and a breaker idle in an outage keeps no timer.
    const pending = !this.#local && this.#holds.pending;
    if (this.#idle >= this.#idleTicks && t.newCalls === 0 && this.#open === -1 && this.#leases.released === 0 && !pending) {
      // Idle: the timer stops here, and the view is stale until the next call syncs.
      this.stale = true;
      return;
    }
    this.#arm();
    void this.#flush();
  }

  /** Sends a sync, or, while one is in flight, another when it settles. Resolves when the one it joins settles; never rejects. */
  #flush(): Promise<void> {
    if (this.#busy !== undefined) {
      this.#again = true;
      return this.#busy;
    }
    const q = this.#take();
    this.#sentAt = now();
    this.#leasing = q.lease !== '';
    const sent = this.#link.run((backend: StoreBackend) => backend.breaker(this.#key, q));
    return (this.#busy = sent
      .then((reply) => this.#answered(q, reply))
      .catch((error: unknown) => this.#failed(q, error))
      .then(() => {
        this.#busy = undefined;
        this.#leasing = false;
        if (this.#again) {
          this.#again = false;
          void this.#flush();
        }
      }));
  }

  /** The request for the next sync; what it carries is no longer pending. */
  #take(): BreakerRequest {
    const t = this.tally;
    const o = this.#o;
    const leases = this.#leases;
    const holds = this.#holds;
    const lease = this.#askLease ? this.#name() : '';
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
    // Sent: the fleet's counts include them from now on.
    t.fleetCalls += t.newCalls;
    t.fleetFailures += t.newFailures;
    t.fleetSlow += t.newSlow;
    t.newCalls = t.newFailures = t.newSlow = 0;
    this.#open = -1;
    leases.sent();
    holds.sent();
    this.#askLease = false;
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

  #answered(q: BreakerRequest, reply: BreakerReply): void {
    this.#local = false;
    this.stale = false;
    const moved = reply.generation !== this.#generation;
    if (moved) {
      // What was pending belongs to the generation before: void (leases too, which the store dropped).
      this.#generation = reply.generation;
      this.#forget();
    }
    if (reply.leased) this.#leases.granted(this.#sentAt, reply.openFor);
    this.#holds.answered(q, reply);
    this.#move(reply, moved);
    const t = this.tally;
    t.shared = this.#bucket > 0;
    t.fleetCalls = reply.calls;
    t.fleetFailures = reply.failures;
    t.fleetSlow = reply.slow;
    if (t.shared) this.#judge();
  }

  /**
   * The fleet's rates as the machine judges its own at each failure, on the
   * counts just read: so the fleet opens when it crosses a threshold between
   * syncs, though no instance saw the crossing in the calls it judged on.
   */
  #judge(): void {
    const o = this.#o;
    const t = this.tally;
    const calls = t.calls;
    const over = (n: number, rate: number | undefined): boolean => rate !== undefined && n / calls >= rate;
    if (calls < o.minimumCalls || !(over(t.failures, o.failureRate) || over(t.slow, o.slowRate)) || this.#host.state !== 'closed') return;
    // Closed: no openings since it closed. The fleet hears of it as of any opening here.
    const openFor = o.openDuration(1);
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

/** `wait`, or the call's abort, whichever comes first (the sync itself goes on for the others). */
function abortable(wait: Promise<void>, ctx: Ctx): Promise<void> {
  if (ctx.aborted) return Promise.reject(ctx.reason);
  return new Promise<void>((resolve, reject) => {
    const onAbort: AbortListener = { handleEvent: () => reject(ctx.reason) };
    ctx.listen(onAbort);
    void wait.then(() => {
      ctx.unlisten(onAbort);
      resolve();
    });
  });
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
