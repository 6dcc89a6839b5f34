// The fleet rate limiter's decision as Redis runs it: the Lua script, and how
// a RateLimitRequest is written as its ARGV and its reply read back (one
// decision, or the Redis store's batch of a tick's calls). Apart from the
// memory twin (rate-limit-memory.ts) so that each side of the pair reads on its
// own; the twin works in the same units (`intervalUs`, `maxWaitUs`). The
// algorithm, and why its numbers are exact: rate-limit-op.ts.
import type { RateLimitReply, RateLimitRequest } from './rate-limit-op.js';

/** Reservations reach at most this far (µs, 142 years): `Infinity` included, so a TAT stays below 2^53 (now + interval + this). */
const MAX_WAIT_US = 4_503_599_627_370_496; // 2 ** 52, written out: bundlers keep a top-level `**` as a side effect

/** `maxWait` as whole µs, at most MAX_WAIT_US. @internal */
export function maxWaitUs(maxWait: number): number {
  return Math.min(Math.floor(maxWait * 1_000), MAX_WAIT_US);
}

/** `interval` as whole µs, at least 1. @internal */
export function intervalUs(interval: number): number {
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
/** The script (KEYS: the TAT, the heartbeat set). @internal */
export const RATE_LIMIT_LUA = `local t = redis.call('TIME')
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

/** The request as the script's ARGV (one decision). @internal */
export function rateLimitArgs(request: RateLimitRequest): string[] {
  const { limit, interval, maxWait, instance, window } = request;
  return [String(limit), String(intervalUs(interval)), String(maxWaitUs(maxWait)), instance, String(Math.max(1, Math.ceil(window)))];
}

/** The script's reply to one decision. @internal */
export function rateLimitReply(raw: unknown): RateLimitReply {
  // One decision: x, or { instances, x } with a heartbeat.
  return Array.isArray(raw) ? rateLimitReplies(raw, 1, true)[0]! : decision(raw, 0);
}
