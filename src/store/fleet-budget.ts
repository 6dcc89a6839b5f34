// A RetryBudget's fleet side, reached as store.fleet.budget(...) so that a
// budget without a store carries none of it. tryRetry stays synchronous: the
// instance spends a local allowance (credit) that the store grants at each
// sync (budget-op.ts), and sends its counts in one command per sync interval.
//
// Three rules, by what the instance knows:
// - a current view (a reply since it woke): the credit, the store's grant plus
//   ratio × its own first attempts since the request left;
// - an outage (its sync failed, until the store answers again): the budget's
//   own rule on its own counts, the local floor included, as the contract says;
// - before its first reply (new, back from idle, or back from an outage):
//   a grace of one retry (the floor if smaller) plus ratio × its own first
//   attempts, spent as the credit is. Not the local floor: a hundred instances
//   starting together would each spend minRetriesPerSecond × window / 1000
//   before the store had a say, and the fleet's one floor would be a hundred.
//   They spend at most one retry each instead, and the first reply charges it.
import { Emitter } from '../events.js';
import type { RetryBudgetEvents, RetryBudgetStats } from '../retry-budget.js';
import { readBudgetReply, type BudgetReply, type BudgetRequest } from './budget-op.js';
import { Outage } from './outage.js';
import type { StoreLink } from './types.js';

/** Syncs per window: the fleet's view is at most a tenth of the window old. */
const SYNCS = 10;
/** An instance that missed this many syncs counts as gone, and its grant as free. */
const MISSED = 3;

let instances = 0;

/**
 * One RetryBudget's membership of the fleet: its counts since the last sync,
 * its allowance until the next, and the sync timer, which runs only while the
 * budget is used (an interval without a call stops it, and the instance
 * leaves the fleet), so a dropped budget becomes garbage.
 * @internal
 */
export class FleetBudget extends Emitter<RetryBudgetEvents> {
  /** ms between syncs. */
  readonly interval: number;
  /** The fleet's numbers at the last sync, while they are current. */
  view: BudgetReply | undefined;
  readonly #link: StoreLink;
  readonly #key: string;
  readonly #ratio: number;
  readonly #floor: number;
  readonly #window: number;
  readonly #id: string;
  readonly #outage: Outage;
  /** Counts since the last sync was sent. */
  #firsts = 0;
  #retries = 0;
  /** Before the first reply: one retry, or the floor if it is smaller. */
  readonly #grace: number;
  /** Retries this instance may still spend until the next reply (unused in an outage, which goes by the local rule). */
  #credit: number;
  /** A call since the last tick. */
  #used = false;
  /** A sync in flight: at most one, so a slow store never piles them up. */
  #busy = false;
  /** The store knows this instance (it must leave when going idle). */
  #joined = false;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(link: StoreLink, key: string, ratio: number, floor: number, window: number) {
    super('storeError storeRecovered');
    this.#link = link;
    this.#key = key;
    this.#ratio = ratio;
    this.#floor = floor;
    this.#window = window;
    this.#credit = this.#grace = Math.min(floor, 1);
    this.interval = Math.max(window / SYNCS, 10);
    this.#id = `${(++instances).toString(36)}.${Math.random().toString(36).slice(2, 12)}`;
    this.#outage = new Outage(link, (event, payload) => {
      if (event === 'storeRecovered') {
        // Out of the local rule: the grace until a reply, asked for now rather than at the next tick.
        this.#credit = this.#grace;
        if (this.#timer !== undefined) this.#sync(false);
      }
      this.emit(event, payload as never);
    });
  }

  /** Counts a first attempt: it adds `ratio` to this instance's allowance at once. */
  first(): void {
    this.#firsts++;
    this.#credit += this.#ratio;
    this.#wake();
  }

  /**
   * Decides a retry. In an outage (no view, and its last sync failed):
   * `local`, the budget's own rule on its own counts. Otherwise it spends one
   * of this instance's allowance if it holds a whole one: the store's grant
   * with a current view, the grace before the first reply. Either way an
   * allowed retry is counted for the fleet.
   */
  take(local: boolean): boolean {
    this.#wake();
    const allowed = this.view === undefined && this.#outage.active ? local : this.#credit >= 1;
    if (allowed) {
      this.#credit--;
      this.#retries++;
    }
    return allowed;
  }

  /**
   * What `RetryBudget.stats()` reports of the fleet side: the whole retries
   * this instance may spend until its next reply, and the fleet's counts at the
   * last sync while they are current; nothing in an outage (the local counts say it all).
   */
  stats(): Pick<RetryBudgetStats, 'available' | 'fleet'> | undefined {
    const view = this.view;
    if (view === undefined && this.#outage.active) return undefined;
    const available = Math.max(0, Math.floor(this.#credit));
    return view ? { available, fleet: { firstAttempts: view.firstAttempts, retries: view.retries, instances: view.instances } } : { available };
  }

  #wake(): void {
    this.#used = true;
    if (this.#timer !== undefined) return;
    // Back from idle (or new): sync at once for a view of the fleet, then every interval.
    this.#arm();
    this.#sync(false);
  }

  #arm(): void {
    const timer = setTimeout(this.#tick, this.interval);
    // Never keep a process alive for a sync.
    (timer as { unref?: () => void }).unref?.();
    this.#timer = timer;
  }

  readonly #tick = (): void => {
    this.#timer = undefined;
    if (this.#used) {
      this.#used = false;
      this.#arm();
      this.#sync(false);
    } else {
      // A whole interval without a call: leave the fleet (releasing the grant) and stop.
      this.view = undefined;
      this.#credit = this.#grace;
      if (this.#joined) this.#sync(true);
    }
  };

  #sync(leave: boolean): void {
    if (this.#busy) return;
    this.#busy = true;
    const request: BudgetRequest = {
      instance: this.#id,
      firsts: this.#firsts,
      retries: this.#retries,
      ratio: this.#ratio,
      floor: this.#floor,
      window: this.#window,
      ttl: this.interval * MISSED,
      leave,
    };
    // Sent counts leave the instance with the command: if it fails, they are
    // dropped rather than resent (a timed-out command may have run: no count twice).
    this.#firsts = this.#retries = 0;
    // The reply is read inside the operation: one that cannot be read fails it, and the link takes that for a store failure.
    this.#link.run((backend) => Promise.resolve(backend.budget(this.#key, request)).then(readBudgetReply)).then(
      (reply) => {
        this.#busy = false;
        this.#joined = !leave;
        // A reply that finds the budget idle (its timer stopped) gives no view: it would go stale.
        if (this.#timer === undefined) return;
        // Woken while leaving: that wake's sync was skipped, so sync now.
        if (leave) return this.#sync(false);
        // What was counted since the request left is charged to the new grant.
        this.#credit = reply.grant + this.#ratio * this.#firsts - this.#retries;
        this.view = reply;
      },
      (error: unknown) => {
        this.#busy = false;
        this.#joined = false;
        this.view = undefined;
        this.#outage.failed(error);
      },
    );
  }
}

/**
 * The fleet side of a `RetryBudget` with a store: `floor` is the floor's
 * retries per window (`minRetriesPerSecond × window / 1000`).
 * @internal
 */
export function fleetBudget(link: StoreLink, key: string, ratio: number, floor: number, window: number): FleetBudget {
  return new FleetBudget(link, key, ratio, floor, window);
}
