// The fleet rate limiter's one atomic decision: GCRA (the generic cell rate
// algorithm) on one key holding the theoretical arrival time (TAT), plus a
// heartbeat set of the instances sharing the key. The Lua script and its
// memory twin below make the same decision from the same state, step by step.
//
// Exactness without floats: times are whole microseconds, and the TAT keeps
// the fraction of a microsecond that interval / limit leaves as a numerator
// over `limit` (stored "q:r", meaning q + r / limit µs; "q" when r is 0). So a run of any
// length admits exactly `limit` per `interval`, like the local bucket. Every
// number stays a whole number below 2^53, which a Lua double holds exactly;
// Lua's tostring prints only 14 digits, so the script writes them with %.0f.
import type { MemoryKV, ScriptOp } from './types.js';

/**
 * What an instance asks of the store: take one token from the bucket of the
 * request's key, now or, when it is due within `maxWait`, as a reservation.
 */
export interface RateLimitRequest {
  /** The bucket's capacity and tokens per `interval`: an integer >= 1. */
  readonly limit: number;
  /** ms over which `limit` tokens refill (the engine may round it to whole µs, at least 1 µs). */
  readonly interval: number;
  /** ms the call may wait for its token (`Infinity`: any time). */
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

/** `maxWait` as whole µs; -1 for no bound (also past what a double holds exactly). */
function maxWaitUs(maxWait: number): number {
  const us = Math.floor(maxWait * 1_000);
  return us < 2 ** 52 ? us : -1;
}

function intervalUs(interval: number): number {
  return Math.max(1, Math.round(interval * 1_000));
}

// KEYS[1] the TAT ("q:r", or "q" when r is 0), KEYS[2] the heartbeat set.
// ARGV: limit, interval µs, maxWait µs (-1: none), instance ('' : no heartbeat), window ms.
// Returns { admitted 0/1, wait ms, remaining, instances (0 without a heartbeat) }. Three
// commands per decision (TIME, GET, SET): the heartbeat's four only when an instance is given.
const LUA = `local t = redis.call('TIME')
local now = t[1] * 1000000 + t[2]
local L = tonumber(ARGV[1])
local I = tonumber(ARGV[2])
local W = tonumber(ARGV[3])
local q, r = now, 0
local v = redis.call('GET', KEYS[1])
if v then
  local sq, sr = v, 0
  local c = string.find(v, ':', 1, true)
  if c then sq, sr = string.sub(v, 1, c - 1), tonumber(string.sub(v, c + 1)) end
  sq = tonumber(sq)
  if sq and sr and (sq > now or (sq == now and sr > 0)) then q, r = sq, sr end
end
local b = I % L
q = q + (I - b) / L
r = r + b
if r >= L then q = q + 1; r = r - L end
local due = q - now - I
if r > 0 then due = due + 1 end
local ok = 0
local left = 0
if W < 0 or due <= W then
  ok = 1
  local ttl = q - now
  if r > 0 then ttl = ttl + 1 end
  local tat = string.format('%.0f', q)
  if r > 0 then tat = tat .. ':' .. string.format('%.0f', r) end
  redis.call('SET', KEYS[1], tat, 'PX', math.max(1, math.ceil(ttl / 1000)))
  left = math.floor(((I - (q - now)) * L - r) / I)
end
if left < 0 then left = 0 elseif left > L then left = L end
local wait = 0
if due > 0 then wait = math.ceil(due / 1000) end
local n = 0
if ARGV[4] ~= '' then
  local ms = math.floor(now / 1000)
  redis.call('ZADD', KEYS[2], string.format('%.0f', ms), ARGV[4])
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. string.format('%.0f', ms - tonumber(ARGV[5])))
  redis.call('PEXPIRE', KEYS[2], ARGV[5])
  n = redis.call('ZCARD', KEYS[2])
end
return { ok, wait, left, n }`;

/** The TAT as the memory store keeps it: q + r / limit µs. */
interface Tat {
  readonly q: number;
  readonly r: number;
}

function toNumber(value: unknown): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' || typeof value === 'bigint' ? Number(value) : NaN;
  if (!Number.isFinite(n)) throw new TypeError(`rateLimit: unexpected reply ${String(value)}`);
  return n;
}

/** The rate limiter's ScriptOp: one token from the fleet's bucket, and a heartbeat. @internal */
export const rateLimitOp: ScriptOp<RateLimitRequest, RateLimitReply> = {
  lua: LUA,
  keys: ['', ':i'],
  args(request) {
    const { limit, interval, maxWait, instance, window } = request;
    return [String(limit), String(intervalUs(interval)), String(maxWaitUs(maxWait)), instance, String(Math.max(1, Math.ceil(window)))];
  },
  reply(raw) {
    if (!Array.isArray(raw) || raw.length < 4) throw new TypeError('rateLimit: unexpected reply');
    return { admitted: toNumber(raw[0]) === 1, wait: toNumber(raw[1]), remaining: toNumber(raw[2]), instances: toNumber(raw[3]) };
  },
  memory(kv: MemoryKV, keys: string[], request: RateLimitRequest, nowMs: number): RateLimitReply {
    // The script's steps, in the same order and the same units.
    // Rounded, not floored: a whole µs divided into ms and multiplied back comes out a hair below itself.
    const now = Math.round(nowMs * 1_000);
    const L = request.limit;
    const I = intervalUs(request.interval);
    const W = maxWaitUs(request.maxWait);
    let q = now;
    let r = 0;
    const tat = kv.get<Tat>(keys[0]!);
    if (tat !== undefined && (tat.q > now || (tat.q === now && tat.r > 0))) ({ q, r } = tat);
    const b = I % L;
    q += (I - b) / L;
    r += b;
    if (r >= L) {
      q += 1;
      r -= L;
    }
    let due = q - now - I;
    if (r > 0) due += 1;
    const admitted = W < 0 || due <= W;
    let left = 0;
    if (admitted) {
      const ttl = q - now + (r > 0 ? 1 : 0);
      kv.set(keys[0]!, { q, r } satisfies Tat, Math.max(1, Math.ceil(ttl / 1_000)));
      // Tokens a call could still take at once: k with (q - now) + (r + k·I) / L <= I.
      left = Math.floor(((I - (q - now)) * L - r) / I);
    }
    left = Math.min(L, Math.max(0, left));
    const wait = due > 0 ? Math.ceil(due / 1_000) : 0;
    let instances = 0;
    if (request.instance !== '') {
      const w = Math.max(1, Math.ceil(request.window));
      const ms = Math.floor(now / 1_000);
      const seen = kv.get<Map<string, number>>(keys[1]!) ?? new Map<string, number>();
      seen.set(request.instance, ms);
      // ZREMRANGEBYSCORE -inf (ms - w: scores below ms - w go.
      for (const [id, at] of seen) if (at < ms - w) seen.delete(id);
      kv.set(keys[1]!, seen, w);
      instances = seen.size;
    }
    return { admitted, wait, remaining: left, instances };
  },
};
