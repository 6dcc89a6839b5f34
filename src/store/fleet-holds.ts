// A fleet CircuitBreaker's isolate() and reset(), carried to the fleet (part of
// fleet-breaker.ts). The instance's two methods are wrapped: an isolation hold
// counts in the fleet's until released (the circuit is isolated while any
// instance holds one), and a reset ends every hold in the fleet. Here: the
// holds taken on this instance, the hold kept on the machine while other
// instances isolate the fleet, and the bookkeeping that tells which holds a
// reset elsewhere ended (those the store had when it happened). Apart from the
// sync, which carries what this piece says to send and hands it the replies.
import type { BreakerHost } from '../breaker/fleet.js';
import type { BreakerReply, BreakerRequest } from './breaker-op.js';

/** What the holds use of the glue that syncs them. @internal */
export interface HoldsOwner {
  /** A name unique to this instance (`instance:n`), for a reset. */
  name(): string;
  /** Something happened that the fleet should hear of soon. */
  want(): void;
  /** A reset: what was to be sent about the current generation is void. */
  forget(): void;
}

/** An isolation hold of the user's: the syncs sent when it was taken, and the machine's hold it keeps. */
interface Hold {
  readonly sent: number;
  release: () => void;
}

/**
 * The isolation holds and resets of one fleet breaker.
 * @internal
 */
export class FleetHolds {
  /** The breaker's own isolate() and reset(), which the glue calls to move it (the instance's are wrapped). */
  readonly isolate: () => () => void;
  readonly reset: () => void;
  readonly #owner: HoldsOwner;
  /** Isolation holds taken here by the user (not yet released, nor ended by a reset). */
  readonly #holds = new Set<Hold>();
  /** The hold this glue keeps on the machine while other instances isolate the fleet. */
  #remote: (() => void) | undefined = undefined;
  // To send with the next sync.
  #changed = false;
  #resetting = false;
  /** The name of this instance's last reset() (sent again until a reply shows it applied). */
  #resetName = '';
  /** The fleet's resets as of the last reply (-1: none yet). */
  #resets = -1;
  /** Syncs sent so far; the number of the one the last reply answered; that number when the sync in flight was sent. */
  #sends = 0;
  #seen = 0;
  #base = 0;

  constructor(host: BreakerHost, owner: HoldsOwner) {
    this.#owner = owner;
    const { isolate, reset } = host;
    this.isolate = () => isolate.call(host);
    this.reset = () => reset.call(host);
    host.isolate = () => this.#held();
    host.reset = () => {
      this.#cleared();
      this.#resetName = owner.name();
      this.#resetting = this.#changed = true;
      owner.want();
      this.reset();
    };
  }

  /** Holds or a reset wait to be sent. */
  get pending(): boolean {
    return this.#changed || this.#resetting;
  }

  /** The request's `holds`: the holds this instance has now, or `-1` (unchanged). */
  get holds(): number {
    return this.#changed ? this.#holds.size : -1;
  }

  /** The request's `reset`: the name of a reset to apply, or `''`. */
  get resetName(): string {
    return this.#resetting ? this.#resetName : '';
  }

  /** The request's `resets`: the fleet's resets this instance has seen. */
  get resets(): number {
    return this.#resets;
  }

  /**
   * A sync is being sent. Returns the request's `fresh`: holds the store has not had yet
   * (taken after the sync answered last was sent). They stand if the store had a reset this
   * instance has not seen yet, which ended the others.
   */
  sending(): number {
    const base = (this.#base = this.#seen);
    let fresh = 0;
    for (const hold of this.#holds) if (hold.sent >= base) fresh++;
    this.#sends++;
    return fresh;
  }

  /** What the sync carried is no longer pending. */
  sent(): void {
    this.#changed = this.#resetting = false;
  }

  /** The sync failed: holds and a reset are sent again (their outcome is the same if the store had them). */
  failed(q: BreakerRequest): void {
    if (q.holds !== -1) this.#changed = true;
    if (q.reset !== '') this.#resetting = true;
  }

  /** The store answered `q`: a reset elsewhere ends the holds here that it ended; other instances' holds isolate this one. */
  answered(q: BreakerRequest, reply: BreakerReply): void {
    this.#seen = this.#sends;
    if (reply.resets !== this.#resets) {
      // A reset elsewhere (not the first state seen) ends every hold here too. One that this
      // sync carried is always applied, after any other: the state is then as this one left it.
      const first = this.#resets === -1;
      this.#resets = reply.resets;
      if (q.reset === '' && !first) {
        // It ended the holds the store had of this instance's (those sent before the sync answered
        // last); those taken since stand (the store counted them after it, as `fresh`).
        const base = this.#base;
        let kept = 0;
        for (const hold of this.#holds) if (hold.sent >= base) kept++;
        if (kept === 0) {
          this.#cleared();
          this.reset();
        } else {
          for (const hold of this.#holds) {
            if (hold.sent < base) {
              this.#holds.delete(hold);
              hold.release();
            }
          }
        }
      }
    }
    if (reply.others > 0) this.#remote ??= this.isolate();
    else if (this.#remote !== undefined) {
      const release = this.#remote;
      this.#remote = undefined;
      release();
    }
  }

  /** The user's isolate(): a hold of this instance's, counted in the fleet's until released. */
  #held(): () => void {
    // Counted first: a listener of the move may reset it, which ends this hold too.
    const hold: Hold = { sent: this.#sends, release: () => {} };
    this.#holds.add(hold);
    this.#change();
    hold.release = this.isolate();
    return () => {
      // A hold that a reset ended is not counted again.
      if (this.#holds.delete(hold)) this.#change();
      hold.release();
    };
  }

  #change(): void {
    this.#changed = true;
    this.#owner.want();
  }

  /** A reset (before the machine's): every hold ends, the glue's too; what was counted before it is gone. */
  #cleared(): void {
    this.#holds.clear();
    this.#remote = undefined;
    this.#owner.forget();
  }
}
