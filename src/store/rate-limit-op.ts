// The fleet rate limiter's one atomic decision: GCRA (the generic cell rate
// algorithm) on one key holding the theoretical arrival time (TAT), plus a
// heartbeat set of the instances sharing the key. This file is the op's
// contract (the request, the reply) and the op assembled; the Lua script
// (rate-limit-lua.ts, with how a request and a reply are written for it) and
// its memory twin (rate-limit-memory.ts) make the same decision from the same
// state, step by step (test/fleet/rate-limiter.test.ts checks them together).
//
// Exactness without floats: times are whole microseconds, and the TAT keeps
// the fraction of a microsecond that interval / limit leaves as a numerator
// over `limit` (stored "q:r:l", meaning q + r / limit µs, written at the
// engine's time l µs). So a run of any length admits exactly `limit` per
// `interval`, like the local bucket. Every number stays a whole number below
// 2^53, which a Lua double holds exactly; Lua's tostring prints only 14 digits,
// so the script formats them with %.0f (not %d: a C long is 32 bits on Windows).
//
// The engine's clock stepping back (an NTP step on the Redis host, a failover to
// a replica whose clock is behind) would leave the TAT in the future by the whole
// step, turning every call away for that long. A write's own time l tells: when
// now < l, the TAT is taken as far ahead of now as it was of l (as if the step
// came right after the last write: never more tokens than the bucket held then),
// and written so, with l = now. Exact while the clock runs forward; after a step
// back the bucket refills within `interval` (+ the reservations of `maxWait`) of
// the first decision that sees it. A step forward finds the TAT past: a full bucket.
import { rateLimitArgs, rateLimitReply, RATE_LIMIT_LUA } from './rate-limit-lua.js';
import { rateLimitMemory } from './rate-limit-memory.js';
import type { ScriptOp } from './types.js';

/**
 * What an instance asks of the store: take one token from the bucket of the
 * request's key, now or, when it is due within `maxWait`, as a reservation.
 */
export interface RateLimitRequest {
  /** The bucket's capacity and tokens per `interval`: an integer >= 1. */
  readonly limit: number;
  /** ms over which `limit` tokens refill (the engine may round it to whole µs, at least 1 µs). */
  readonly interval: number;
  /** ms the call may wait for its token (`Infinity`: any time; the built-in stores cap it at 2^52 µs, 142 years). */
  readonly maxWait: number;
  /** Who asks, for the heartbeat set; `''` to skip the heartbeat (then `instances` is `0`). */
  readonly instance: string;
  /** ms for which an instance counts as sharing the key after its last heartbeat. */
  readonly window: number;
}

/** What the store answers. */
export interface RateLimitReply {
  /** Whether the call got a token (after `wait` ms). When not, the bucket was left as it was. */
  readonly admitted: boolean;
  /**
   * Whole ms, rounded up, until the call's token is due on the engine's clock:
   * how long an admitted call waits (0: at once), or the `retryAfter` of one turned away.
   */
  readonly wait: number;
  /** Tokens left in the bucket after this decision, from 0 to `limit`. */
  readonly remaining: number;
  /** Instances seen sharing the key within `window` ms, this one included; `0` without a heartbeat. */
  readonly instances: number;
}

/** The rate limiter's ScriptOp: one token from the fleet's bucket, and a heartbeat. @internal */
export const rateLimitOp: ScriptOp<RateLimitRequest, RateLimitReply> = {
  lua: RATE_LIMIT_LUA,
  keys: ['', ':i'],
  args: rateLimitArgs,
  reply: rateLimitReply,
  memory: rateLimitMemory,
};
