// The fleet breaker's sync as Redis runs it: the Lua script, and how a
// BreakerRequest is written as its ARGV and its reply read back. Apart from the
// memory twin (breaker-memory.ts) so that each side of the pair reads on its
// own; the twin walks the same steps and reads its numbers back the same way
// (`openArg`, `replyOf`). The keys and the op itself: breaker-op.ts.
import type { BreakerReply, BreakerRequest } from './breaker-op.js';

/** ms past which an open wait counts as one without end (35 years): every time stays a whole, exact number for Redis. */
const LONGEST = 1_099_511_627_776; // 2 ** 40, written out: bundlers keep a top-level `**` as a side effect (in every app's bundle)

/** The request's opening as the script reads it: ms, `-1` none, `-2` no end. @internal */
export function openArg(open: number): number {
  return open > LONGEST ? -2 : open;
}

// ARGV: 1 instance, 2 generation, 3-5 calls failures slow, 6 bucket, 7 released, 8 successes,
// 9 successThreshold, 10 open (-1 none, -2 no end), 11 lease, 12 maxTrials, 13 holds, 14 resets,
// 15 reset (its name, or ''), 16 ttl, 17 fresh. Steps in order: reset, holds, counts, ended trials, opening, lease, write.
// If the engine's clock stepped back, times written before the step lie in the future: no open
// wait (u) and no lease lasts longer than one begun now would, and window buckets past the
// current one are dropped (else a step back of 10 minutes holds the circuit open for 10 minutes).
// The constants are written out (10 BUCKETS, 30000 NO_WAIT_LEASE, 86400000 DAY): a template
// with substitutions is one a bundler cannot drop, and would stay in every bundle.
/** The script (KEYS: the op's four keys, see breaker-op.ts). @internal */
export const BREAKER_LUA = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local id = ARGV[1]
local gen = tonumber(ARGV[2])
local st = redis.call('HMGET', KEYS[1], 'g', 'p', 'u', 'd', 'o', 's', 'r', 'x')
local g = tonumber(st[1]) or now
local p = tonumber(st[2]) or 0
local u = tonumber(st[3]) or 0
local d = tonumber(st[4]) or 0
local o = tonumber(st[5]) or 0
local ok = tonumber(st[6]) or 0
local r = tonumber(st[7]) or 0
local x = st[8] or ''
if p == 1 and u >= 0 and u > now + d then u = now + d end
local known = tonumber(ARGV[14])
local function close()
  g = g + 1
  p = 0
  o = 0
  ok = 0
  redis.call('DEL', KEYS[2], KEYS[3])
end
local function half() return p == 1 and u >= 0 and now >= u end
if ARGV[15] ~= '' then
  if ARGV[15] ~= x then
    r = r + 1
    x = ARGV[15]
    redis.call('DEL', KEYS[4])
    close()
  end
  known = r
end
local mine, others = 0, 0
local hv = redis.call('HGETALL', KEYS[4])
for i = 1, #hv, 2 do
  if hv[i] == id then mine = tonumber(hv[i + 1]) else others = others + tonumber(hv[i + 1]) end
end
local before = others + mine
local H = tonumber(ARGV[13])
if H >= 0 and known >= 0 and known ~= r then H = tonumber(ARGV[17]) end
if H >= 0 then
  mine = H
  if H > 0 then redis.call('HSET', KEYS[4], id, H) else redis.call('HDEL', KEYS[4], id) end
end
local held = others + mine
if before == 0 and held > 0 then g = g + 1 end
if before > 0 and held == 0 then close() end
local B = tonumber(ARGV[6])
local e = 0
if B > 0 then e = math.floor(now / B) end
if B > 0 and gen == g and tonumber(ARGV[3]) > 0 then
  local es = string.format('%.0f', e)
  redis.call('HINCRBY', KEYS[3], es .. 'c', ARGV[3])
  if tonumber(ARGV[4]) > 0 then redis.call('HINCRBY', KEYS[3], es .. 'f', ARGV[4]) end
  if tonumber(ARGV[5]) > 0 then redis.call('HINCRBY', KEYS[3], es .. 's', ARGV[5]) end
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local span = d
if span <= 0 then span = 30000 end
local last = string.format('%.0f', now + span)
for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. last, '+inf')) do redis.call('ZADD', KEYS[2], last, m) end
local n = tonumber(ARGV[7])
if n > 0 then
  local pre = id .. ':'
  local k = 0
  for _, m in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
    if k < n and string.sub(m, 1, #pre) == pre then
      redis.call('ZREM', KEYS[2], m)
      k = k + 1
    end
  end
  if gen == g and half() then
    ok = ok + math.min(k, tonumber(ARGV[8]))
    if ok >= tonumber(ARGV[9]) then close() end
  end
end
local A = tonumber(ARGV[10])
if A ~= -1 and gen == g and held == 0 and (p == 0 or half()) then
  g = g + 1
  p = 1
  o = o + 1
  ok = 0
  if A == -2 then d = -1 u = -1 else d = A u = now + A end
  redis.call('DEL', KEYS[2])
end
local leased = 0
if ARGV[11] ~= '' and held == 0 and half() and redis.call('ZCARD', KEYS[2]) < tonumber(ARGV[12]) then
  span = d
  if span <= 0 then span = 30000 end
  redis.call('ZADD', KEYS[2], now + span, ARGV[11])
  leased = 1
end
local top = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
if #top > 0 then redis.call('PEXPIRE', KEYS[2], math.max(1, math.ceil(tonumber(top[2]) - now))) end
local calls, fails, slow = 0, 0, 0
if B > 0 then
  local w = redis.call('HGETALL', KEYS[3])
  for i = 1, #w, 2 do
    local at = tonumber(string.sub(w[i], 1, -2))
    if at == nil or at <= e - 10 or at > e then
      redis.call('HDEL', KEYS[3], w[i])
    else
      local n = tonumber(w[i + 1])
      local k = string.sub(w[i], -1)
      if k == 'c' then calls = calls + n elseif k == 'f' then fails = fails + n else slow = slow + n end
    end
  end
  redis.call('PEXPIRE', KEYS[3], math.ceil(B * 11))
end
local ttl = tonumber(ARGV[16])
if p == 1 and u > now then ttl = ttl + (u - now) end
if held > 0 or (p == 1 and u < 0) then ttl = math.max(ttl, 86400000) end
ttl = math.ceil(ttl)
redis.call('HSET', KEYS[1], 'g', g, 'p', p, 'u', u, 'd', d, 'o', o, 's', ok, 'r', r, 'x', x)
redis.call('PEXPIRE', KEYS[1], ttl)
if held > 0 then redis.call('PEXPIRE', KEYS[4], ttl) end
local wait = 0
if p == 1 then
  if u < 0 then wait = -1 elseif u > now then wait = math.ceil(u - now) end
end
return { g, p, wait, d, o, others, r, leased, calls, fails, slow }`;

function integer(value: unknown): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : NaN;
  if (!Number.isFinite(n)) throw new TypeError(`breaker: unexpected reply ${String(value)}`);
  return n;
}

/** The script's numbers as a reply; `-1` means "no end". @internal */
export function replyOf(n: readonly number[]): BreakerReply {
  const endless = (ms: number): number => (ms < 0 ? Infinity : ms);
  return {
    generation: n[0]!,
    open: n[1] === 1,
    wait: endless(n[2]!),
    openFor: endless(n[3]!),
    opens: n[4]!,
    others: n[5]!,
    resets: n[6]!,
    leased: n[7] === 1,
    calls: n[8]!,
    failures: n[9]!,
    slow: n[10]!,
  };
}

/** A count the script reads with tonumber: a whole number as text. */
const count = (n: number): string => String(Math.max(0, Math.floor(n)) || 0);

/** The request as the script's ARGV. @internal */
export function breakerArgs(q: BreakerRequest): string[] {
  return [
    q.instance,
    String(q.generation),
    count(q.calls),
    count(q.failures),
    count(q.slow),
    String(q.bucket),
    count(q.released),
    count(q.successes),
    count(q.successThreshold),
    String(openArg(q.open)),
    q.lease,
    count(q.maxTrials),
    String(q.holds),
    String(q.resets),
    q.reset,
    String(Math.ceil(q.ttl)),
    count(q.fresh),
  ];
}

/** The script's reply as a BreakerReply. @internal */
export function breakerReply(raw: unknown): BreakerReply {
  if (!Array.isArray(raw) || raw.length !== 11) throw new TypeError(`breaker: unexpected reply ${String(raw)}`);
  return replyOf(raw.map(integer));
}
