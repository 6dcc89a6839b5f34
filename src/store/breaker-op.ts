// The fleet circuit breaker's one atomic operation: an instance's sync. It
// merges what happened on the instance since its last sync (call counts, ended
// trials, an opening, isolation holds, a reset) into the fleet's state and
// answers with that state. Every state change bumps a generation, and every
// move an instance reports is a compare-and-set on the generation it saw, so
// two instances that saw the same state cannot both move it. This file is the
// op's contract (the request, the reply, the keys) and the op assembled; the
// Lua script (breaker-lua.ts, with how a request and a reply are written for
// it) and its memory twin (breaker-memory.ts) make the same decision from the
// same state, step by step, on the engine's clock (ms), and are checked
// against each other by test/fleet/circuit-breaker.test.ts.
//
// Keys (suffixes of prefix + '{key}'):
// - ':cb'   hash, the state: g generation, p 0 closed / 1 open, u until (ms, -1
//           no end), d the open wait (ms, -1 no end), o openings, s successful
//           trials, r resets, x the name of the last reset. A new state's generation starts at the engine's
//           clock, so a state that expired and came back never repeats one.
// - ':cb:l' sorted set, the trial leases: member `instance:n`, score its expiry.
// - ':cb:w' hash, the time window: `<bucket>c`, `<bucket>f`, `<bucket>s` counts
//           of calls, failures and slow calls per bucket of `bucket` ms.
// - ':cb:h' hash, isolation holds: instance -> holds. Isolated while any.
import { breakerArgs, breakerReply, BREAKER_LUA } from './breaker-lua.js';
import { breakerMemory } from './breaker-memory.js';
import type { ScriptOp } from './types.js';

/**
 * What an instance's breaker sends at a sync: what happened on it since the
 * last one. Moves (`open`, the trial outcomes, the counts) count only if the
 * fleet is still at `generation`. A `reset` is always applied (once: a sync
 * sent again after a failure may carry one the store applied already).
 */
export interface BreakerRequest {
  /** Who asks: a string unique to the instance, which names its leases and holds. */
  readonly instance: string;
  /** The fleet's generation this instance's view is at; `-1` before it has one. */
  readonly generation: number;
  /** Calls, failures and slow calls that ended in the closed state since the last sync (with `bucket`). */
  readonly calls: number;
  readonly failures: number;
  readonly slow: number;
  /** ms per bucket of the fleet's time window (`windowDuration / 10`); `0`: no fleet window, no counts. */
  readonly bucket: number;
  /** Trials of this instance that ended (and leases it no longer wants): that many of its leases are released, oldest first. */
  readonly released: number;
  /** Of those, trials that succeeded: each one whose lease was still live counts towards `successThreshold`. */
  readonly successes: number;
  /** Successful trials that close the circuit. */
  readonly successThreshold: number;
  /** The instance opened the circuit, for this many ms (`Infinity`, or past 2^40: no end); `-1`: it did not. */
  readonly open: number;
  /** A trial lease to take, if the circuit is half-open and fewer than `maxTrials` are held: its name (`instance:n`), or `''`. */
  readonly lease: string;
  /** `halfOpenMaxCalls`: leases held at once across the fleet. */
  readonly maxTrials: number;
  /** The isolation holds this instance has now; `-1`: unchanged. */
  readonly holds: number;
  /**
   * Of `holds`, those taken since the sync this instance last had a reply to was sent. After a
   * reset the instance has not seen (`resets`), which ended the holds the store had, only these
   * stand: they are counted instead of `holds`.
   */
  readonly fresh: number;
  /** The number of fleet resets this instance has seen; `-1` before it has seen any state. */
  readonly resets: number;
  /**
   * `reset()` was called on this instance: a name for it unique to the instance (`instance:n`),
   * or `''`. The store applies it unless it is the name of the fleet's last reset (already applied).
   */
  readonly reset: string;
  /** ms the state outlives the last sync of any instance (longer while open, and a day while isolated or open without end). */
  readonly ttl: number;
}

/** What the store answers: the fleet's state after the request. */
export interface BreakerReply {
  /** Bumped by every change of the state. */
  readonly generation: number;
  /** Open (or half-open: open with its wait over), apart from isolation. */
  readonly open: boolean;
  /** ms left of the open wait, rounded up; `0` when over (half-open) or closed; `Infinity`: no end. */
  readonly wait: number;
  /** The wait the circuit last opened for, ms (`Infinity`: no end); a trial's lease lasts as long (30 000 ms for 0). */
  readonly openFor: number;
  /** Openings since the circuit last closed. */
  readonly opens: number;
  /** Isolation holds of the other instances (isolated while this or the instance's own are above 0). */
  readonly others: number;
  /** Resets so far. */
  readonly resets: number;
  /** Whether the request's lease was granted. */
  readonly leased: boolean;
  /** The fleet's calls, failures and slow calls in the window (with `bucket`; `0` otherwise). */
  readonly calls: number;
  readonly failures: number;
  readonly slow: number;
}

/** The breaker's ScriptOp: one instance's sync with the fleet's state. @internal */
export const breakerOp: ScriptOp<BreakerRequest, BreakerReply> = {
  lua: BREAKER_LUA,
  keys: [':cb', ':cb:l', ':cb:w', ':cb:h'],
  args: breakerArgs,
  reply: breakerReply,
  memory: breakerMemory,
};
