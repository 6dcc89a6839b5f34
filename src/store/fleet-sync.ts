// When a fleet CircuitBreaker syncs with the store (part of fleet-breaker.ts,
// which decides what a sync carries and what its reply does):
// - one sync per `syncInterval`, carrying whatever happened since the last;
// - a move of the machine's own (an opening, an ended trial, a hold) is sent at
//   once, at most one such sync between two periodic ones (the next tick
//   carries the others);
// - one sync in flight at most: what asks meanwhile joins it, and one more is
//   sent when it settles;
// - the timer stops after IDLE ms (5 intervals at least) without a call, when
//   nothing is left to send (the owner says), so that a dropped breaker is
//   garbage; it holds no process open (unref).
// Apart from the breaker's view of the fleet so that the timing reads on its own.
import type { AbortListener, Ctx } from '../internal/context.js';
import { now } from '../internal/timers.js';
import type { BreakerReply, BreakerRequest } from './breaker-op.js';
import type { StoreBackend, StoreLink } from './types.js';

/**
 * The sync stops after this many ms without a call (at least 5 intervals): the
 * view, `state` included, stays fresh through lulls, and a dropped breaker is
 * garbage soon after.
 */
const IDLE = 10_000;

/** What the sync asks of the breaker it syncs. @internal */
export interface SyncOwner {
  /** The request for the next sync (asking for a trial lease with `lease`); what it carries is no longer pending. */
  take(lease: boolean): BreakerRequest;
  /** The store answered `q`, sent at `sentAt` (this clock). */
  answered(q: BreakerRequest, reply: BreakerReply, sentAt: number): void;
  /** The store failed `q`. */
  failed(q: BreakerRequest, error: unknown): void;
  /** A tick: whether a call came since the last one. */
  tick(): boolean;
  /** After enough idle ticks: whether the sync may stop (nothing to send); the view is then stale. */
  rest(): boolean;
}

/**
 * The sync timer and batching of one fleet breaker.
 * @internal
 */
export class BreakerSync {
  readonly #link: StoreLink;
  readonly #key: string;
  readonly #interval: number;
  /** Ticks without a call after which the sync may stop. */
  readonly #idleTicks: number;
  readonly #owner: SyncOwner;
  #timer: ReturnType<typeof setTimeout> | undefined = undefined;
  /** The sync in flight: at most one; `#again` sends another when it settles. */
  #busy: Promise<void> | undefined = undefined;
  #again = false;
  /** The sync in flight asks for a trial lease. */
  #leasing = false;
  /** The next sync asks for one. */
  #askLease = false;
  /** A sync outside the period was sent in this interval (at most one). */
  #urgent = false;
  /** Ticks in a row without a call. */
  #idle = 0;
  readonly #tick = (): void => this.#ticked();

  constructor(link: StoreLink, key: string, interval: number, owner: SyncOwner) {
    this.#link = link;
    this.#key = key;
    this.#interval = interval;
    this.#idleTicks = Math.max(5, Math.ceil(IDLE / interval));
    this.#owner = owner;
  }

  /** Something happened that the fleet should hear of soon: a sync now, unless one went outside the period in this interval. */
  soon(): void {
    if (!this.#urgent) {
      this.#urgent = true;
      void this.flush();
    }
    // Else the next tick carries it.
  }

  /**
   * A trial needs a lease. One asked for already, in the sync in flight: its answer decides
   * this call too. Else ask for one (once per interval; calls meanwhile are turned away: `undefined`).
   */
  lease(): Promise<void> | undefined {
    if (this.#leasing) return this.#busy;
    if (this.#urgent) return undefined;
    this.#urgent = this.#askLease = true;
    return this.flush();
  }

  /**
   * The first sync after the timer stopped: it starts a new interval (calls that find it in
   * flight wait for it). With `lease`, it asks for a trial lease: if the fleet turns out
   * half-open, the call that woke it is a trial.
   */
  wake(lease: boolean): Promise<void> {
    if (this.#busy !== undefined && this.#timer !== undefined) return this.#busy;
    this.#urgent = false;
    this.#idle = 0;
    this.#arm();
    this.#askLease = lease;
    return this.flush();
  }

  /** Sends a sync, or, while one is in flight, another when it settles. Resolves when the one it joins settles; never rejects. */
  flush(): Promise<void> {
    if (this.#busy !== undefined) {
      this.#again = true;
      return this.#busy;
    }
    const owner = this.#owner;
    const q = owner.take(this.#askLease);
    this.#askLease = false;
    const sentAt = now();
    this.#leasing = q.lease !== '';
    const sent = this.#link.run((backend: StoreBackend) => backend.breaker(this.#key, q));
    return (this.#busy = sent
      .then((reply) => owner.answered(q, reply, sentAt))
      .catch((error: unknown) => owner.failed(q, error))
      .then(() => {
        this.#busy = undefined;
        this.#leasing = false;
        if (this.#again) {
          this.#again = false;
          void this.flush();
        }
      }));
  }

  #arm(): void {
    if (this.#timer !== undefined) return;
    const timer = (this.#timer = setTimeout(this.#tick, this.#interval));
    (timer as { unref?: () => void }).unref?.();
  }

  #ticked(): void {
    this.#timer = undefined;
    this.#urgent = false;
    const active = this.#owner.tick();
    this.#idle = active || this.#busy !== undefined ? 0 : this.#idle + 1;
    // Idle: the timer stops here, and the view is stale until the next call syncs.
    if (this.#idle >= this.#idleTicks && this.#owner.rest()) return;
    this.#arm();
    void this.flush();
  }
}

/** `wait`, or the call's abort, whichever comes first (the sync itself goes on for the others). @internal */
export function abortable(wait: Promise<void>, ctx: Ctx): Promise<void> {
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
