// The window a fleet CircuitBreaker judges its rates on (part of
// fleet-breaker.ts): the machine records into it as into its own, and with a
// time window its rates are the fleet's. Apart from the glue so that the
// counts, what of them is still to send, and the fleet's rates read in one place.
import type { ResolvedOptions } from '../breaker/options.js';
import { FAILED, type CallWindow, type WindowSnapshot } from '../breaker/window.js';
import type { BreakerReply } from './breaker-op.js';

/**
 * The window a fleet breaker judges rates on. It records into the breaker's
 * own window (the one it falls back on while the store is down) and counts
 * what it has not sent yet; with a time window (`shared`) its totals are the
 * fleet's as of the last reply plus this instance's since.
 * @internal
 */
export class FleetTally implements CallWindow {
  /** The fleet's counts are in force: a time window, and a reply since the store last failed. */
  shared = false;
  /** A call ended or was rejected since the last tick. */
  active = false;
  /** The fleet's counts as of the last reply, plus what this instance sent since. */
  fleetCalls = 0;
  fleetFailures = 0;
  fleetSlow = 0;
  /** This instance's counts since its last sync was sent. */
  newCalls = 0;
  newFailures = 0;
  newSlow = 0;

  constructor(readonly own: CallWindow) {}

  /** A tick of the sync: whether a call ended or was rejected since the last one. */
  tick(): boolean {
    const active = this.active;
    this.active = false;
    return active;
  }

  /** This instance's counts were sent: the fleet's include them from now on. */
  sent(): void {
    this.fleetCalls += this.newCalls;
    this.fleetFailures += this.newFailures;
    this.fleetSlow += this.newSlow;
    this.newCalls = this.newFailures = this.newSlow = 0;
  }

  /** The counts not sent yet belong to a generation gone by: void. */
  forget(): void {
    this.newCalls = this.newFailures = this.newSlow = 0;
  }

  /** The fleet's counts as the store answered them (in force with a time window: `shared`). */
  replied(reply: BreakerReply, shared: boolean): void {
    this.shared = shared;
    this.fleetCalls = reply.calls;
    this.fleetFailures = reply.failures;
    this.fleetSlow = reply.slow;
  }

  /** The rates are past a threshold of `o`'s (as the machine judges its own window at each failure). */
  tripped(o: ResolvedOptions): boolean {
    const calls = this.calls;
    const over = (n: number, rate: number | undefined): boolean => rate !== undefined && n / calls >= rate;
    return calls >= o.minimumCalls && (over(this.failures, o.failureRate) || over(this.slow, o.slowRate));
  }

  get calls(): number {
    return this.shared ? this.fleetCalls + this.newCalls : this.own.calls;
  }
  get failures(): number {
    return this.shared ? this.fleetFailures + this.newFailures : this.own.failures;
  }
  get slow(): number {
    return this.shared ? this.fleetSlow + this.newSlow : this.own.slow;
  }
  get rejections(): number {
    return this.own.rejections;
  }

  recordAt(outcome: number, t: number): void {
    this.own.recordAt(outcome, t);
    this.active = true;
    this.newCalls++;
    this.newFailures += outcome & FAILED;
    this.newSlow += outcome >> 1;
  }
  rejectAt(t: number): void {
    this.own.rejectAt(t);
    this.active = true;
  }
  ageTo(t: number): void {
    this.own.ageTo(t);
  }
  clearAll(): void {
    this.own.clearAll();
    this.fleetCalls = this.fleetFailures = this.fleetSlow = this.newCalls = this.newFailures = this.newSlow = 0;
  }
  saveAt(t: number): WindowSnapshot {
    return this.own.saveAt(t);
  }
  loadAt(snapshot: WindowSnapshot, t: number, elapsed: number): void {
    this.own.loadAt(snapshot, t, elapsed);
  }
}
