// The fleet rate limiter's one atomic decision: GCRA (the generic cell rate
// algorithm) on one key holding the theoretical arrival time (TAT), plus a
// heartbeat set of the instances sharing the key. The Lua script and its
// memory twin below make the same decision from the same state, step by step.
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

/** Reservations reach at most this far (µs, 142 years): `Infinity` included, so a TAT stays below 2^53 (now + interval + this). */
const MAX_WAIT_US = 4_503_599_627_370_496; // 2 ** 52, written out: bundlers keep a top-level `**` as a side effect

/** `maxWait` as whole µs, at most MAX_WAIT_US. */
function maxWaitUs(maxWait: number): number {
  return Math.min(Math.floor(maxWait * 1_000), MAX_WAIT_US);
}

function intervalUs(interval: number): number {
  return Math.max(1, Math.round(interval * 1_000));
}

// KEYS[1] the TAT ("q:r:l"), KEYS[2] the heartbeat set.
// ARGV: limit, interval µs, maxWait µs (at most 2^52), instance ('': no heartbeat), window ms,
// and optionally n: that many decisions in a row, as n calls at the same instant would get.
// Each decision is one number x (see {@link decision}); the reply is x alone for one decision
// without a heartbeat, else the table { x1, ..., xn } or, with the heartbeat, { instances, x1, ..., xn }.
// Three commands without the heartbeat (TIME, GET, SET). The key expires in the ms its TAT falls
// due in (e, read off the stored TAT: every write either sets the expiry to that ms or keeps one
// at least as late), so the SET writes the expiry (PX, and Redis's rewrite of it for replication:
// about half the script's cost) only when that ms moves; KEEPTTL (Redis 6.0+) otherwise.
// Numbers go to redis.call as numbers where they can (written exactly, %.17g): one string.format a write.
const LUA = `local t = redis.call('TIME')
local now = t[1] * 1000000 + t[2]
local L = tonumber(ARGV[1])
local I = tonumber(ARGV[2])
local W = tonumber(ARGV[3])
local n = tonumber(ARGV[6] or '1')
local q, r, e, moved = now, 0, -1, false
local v = redis.call('GET', KEYS[1])
if v then
  local sq, sr, sl = string.match(v, '^(%d+):(%d+):(%d+)$')
  sq, sr, sl = tonumber(sq), tonumber(sr), tonumber(sl)
  if sq and sr and sl then
    e = sq
    if sr > 0 then e = sq + 1 end
    e = math.ceil(e / 1000)
    if sl > now then
      sq = sq - (sl - now)
      moved = true
    end
    if sq > now or (sq == now and sr > 0) then q, r = sq, sr end
  end
end
local b = I % L
local s = (I - b) / L
local o = 0
if ARGV[4] ~= '' then o = 1 end
local out = {}
local took = false
for j = 1, n do
  local nq, nr = q + s, r + b
  if nr >= L then nq = nq + 1; nr = nr - L end
  local due = nq - now - I
  if nr > 0 then due = due + 1 end
  if due > W then
    local x = -2 * math.ceil(due / 1000)
    for k = j, n do out[k + o] = x end
    break
  end
  q, r, took = nq, nr, true
  if due > 0 then
    out[j + o] = -1 - 2 * math.ceil(due / 1000)
  else
    local left = math.floor(((I - (q - now)) * L - r) / I)
    if left < 0 then left = 0 elseif left > L then left = L end
    out[j + o] = left
  end
end
if took or moved then
  local ttl = q - now
  if r > 0 then ttl = ttl + 1 end
  local tat = string.format('%.0f:%.0f:%.0f', q, r, now)
  if math.ceil((now + ttl) / 1000) <= e then
    redis.call('SET', KEYS[1], tat, 'KEEPTTL')
  else
    redis.call('SET', KEYS[1], tat, 'PX', math.ceil(ttl / 1000))
  end
end
if o == 0 then
  if n == 1 then return out[1] end
  return out
end
local w = tonumber(ARGV[5])
local ms = math.floor(now / 1000)
redis.call('ZADD', KEYS[2], ms, ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', string.format('(%.0f', ms - w))
redis.call('PEXPIRE', KEYS[2], w)
out[1] = redis.call('ZCARD', KEYS[2])
return out`;

/** The TAT as the memory store keeps it: q + r / limit µs, written at l µs. */
interface Tat {
  readonly q: number;
  readonly r: number;
  readonly l: number;
}

function toNumber(value: unknown): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' || typeof value === 'bigint' ? Number(value) : NaN;
  if (!Number.isInteger(n)) throw new TypeError(`rateLimit: unexpected reply ${String(value)}`);
  return n;
}

/**
 * One decision as the script encodes it in a single integer x: x >= 0 admitted at
 * once with x tokens left; otherwise -x = 2·wait + 1 for a call admitted after
 * `wait` ms (a reservation: no token left), -x = 2·wait for a call turned away.
 */
function decision(x: unknown, instances: number): RateLimitReply {
  const v = toNumber(x);
  if (v >= 0) return { admitted: true, wait: 0, remaining: v, instances };
  const odd = -v % 2;
  return { admitted: odd === 1, wait: (-v - odd) / 2, remaining: 0, instances };
}

/**
 * The script's reply to `n` decisions (ARGV[6]; a heartbeat with `beat`), as
 * the replies of `n` calls asking at the same instant, in order.
 * @internal
 */
export function rateLimitReplies(raw: unknown, n: number, beat: boolean): RateLimitReply[] {
  if (!beat && n === 1) return [decision(raw, 0)];
  const o = beat ? 1 : 0;
  if (!Array.isArray(raw) || raw.length !== n + o) throw new TypeError('rateLimit: unexpected reply');
  const instances = beat ? toNumber(raw[0]) : 0;
  const replies = new Array<RateLimitReply>(n);
  for (let i = 0; i < n; i++) replies[i] = decision(raw[i + o], instances);
  return replies;
}

/**
 * A TAT the memory twin keeps, made fit for another `limit` (a bucket whose
 * share changed): its fraction of a µs, a numerator over the old limit, rounded
 * up to the µs. The bucket keeps how far from full it is, in time.
 * @internal
 */
export function retargeted(tat: unknown): unknown {
  if (tat === undefined) return tat;
  const { q, r, l } = tat as Tat;
  return { q: r > 0 ? q + 1 : q, r: 0, l } satisfies Tat;
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
    // One decision: x, or { instances, x } with a heartbeat.
    return Array.isArray(raw) ? rateLimitReplies(raw, 1, true)[0]! : decision(raw, 0);
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
    let moved = false;
    const tat = kv.get<Tat>(keys[0]!);
    if (tat !== undefined) {
      let sq = tat.q;
      // The clock stepped back since the write: as far ahead of now as it was of then.
      if (tat.l > now) {
        sq -= tat.l - now;
        moved = true;
      }
      if (sq > now || (sq === now && tat.r > 0)) {
        q = sq;
        r = tat.r;
      }
    }
    const b = I % L;
    let nq = q + (I - b) / L;
    let nr = r + b;
    if (nr >= L) {
      nq += 1;
      nr -= L;
    }
    let due = nq - now - I;
    if (nr > 0) due += 1;
    const admitted = due <= W;
    let left = 0;
    if (admitted) {
      q = nq;
      r = nr;
      // Tokens a call could still take at once: k with (q - now) + (r + k·I) / L <= I.
      left = Math.floor(((I - (q - now)) * L - r) / I);
    }
    if (admitted || moved) {
      const ttl = q - now + (r > 0 ? 1 : 0);
      kv.set(keys[0]!, { q, r, l: now } satisfies Tat, Math.max(1, Math.ceil(ttl / 1_000)));
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
