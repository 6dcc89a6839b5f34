// The fleet circuit breaker's one atomic operation: an instance's sync. It
// merges what happened on the instance since its last sync (call counts, ended
// trials, an opening, isolation holds, a reset) into the fleet's state and
// answers with that state. Every state change bumps a generation, and every
// move an instance reports is a compare-and-set on the generation it saw, so
// two instances that saw the same state cannot both move it. The Lua script
// and its memory twin below make the same decision from the same state, step
// by step, on the engine's clock (ms).
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
import type { MemoryKV, ScriptOp } from './types.js';

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

/** Buckets of the fleet's time window, as in the local one (breaker/window.ts). */
const BUCKETS = 10;
/** ms an isolated state, or one open without end, outlives the last sync. */
const DAY = 86_400_000;
/** A trial's lease after an open wait of 0 (the local breaker's hung-trial wait). */
const NO_WAIT_LEASE = 30_000;
/** ms past which an open wait counts as one without end (35 years): every time stays a whole, exact number for Redis. */
const LONGEST = 1_099_511_627_776; // 2 ** 40, written out: bundlers keep a top-level `**` as a side effect (in every app's bundle)

/** The request's opening as the script reads it: ms, `-1` none, `-2` no end. */
function openArg(open: number): number {
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
const LUA = `local t = redis.call('TIME')
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

/** The state as the memory store keeps it (the ':cb' hash). */
interface State {
  g: number;
  p: number;
  u: number;
  d: number;
  o: number;
  s: number;
  r: number;
  x: string;
}

/** A lease as the memory store keeps it (the ':cb:l' set), ordered by `at` then by name as a sorted set is. */
interface Lease {
  readonly m: string;
  readonly at: number;
}

function integer(value: unknown): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : NaN;
  if (!Number.isFinite(n)) throw new TypeError(`breaker: unexpected reply ${String(value)}`);
  return n;
}

/** The script's numbers as a reply; `-1` means "no end". */
function replyOf(n: readonly number[]): BreakerReply {
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

/** The breaker's ScriptOp: one instance's sync with the fleet's state. @internal */
export const breakerOp: ScriptOp<BreakerRequest, BreakerReply> = {
  lua: LUA,
  keys: [':cb', ':cb:l', ':cb:w', ':cb:h'],
  args: (q) => [
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
  ],
  reply(raw) {
    if (!Array.isArray(raw) || raw.length !== 11) throw new TypeError(`breaker: unexpected reply ${String(raw)}`);
    return replyOf(raw.map(integer));
  },
  memory(kv: MemoryKV, [stateKey, leaseKey, windowKey, holdKey]: string[], q: BreakerRequest, now: number): BreakerReply {
    const st = kv.get<State>(stateKey!);
    let { g, p, u, d, o, s: ok, r, x } = st ?? { g: now, p: 0, u: 0, d: 0, o: 0, s: 0, r: 0, x: '' };
    let leases = kv.get<Lease[]>(leaseKey!)?.slice() ?? [];
    let windows = kv.get<Record<string, number>>(windowKey!);
    const holds = { ...kv.get<Record<string, number>>(holdKey!) };
    let known = q.resets;
    const close = (): void => {
      g++;
      p = o = ok = 0;
      leases = [];
      windows = undefined;
    };
    const half = (): boolean => p === 1 && u >= 0 && now >= u;
    // The engine's clock stepped back: no wait lasts longer than it would from now.
    if (p === 1 && u >= 0 && u > now + d) u = now + d;

    if (q.reset !== '') {
      if (q.reset !== x) {
        r++;
        x = q.reset;
        for (const h of Object.keys(holds)) delete holds[h];
        close();
      }
      known = r;
    }
    let mine = holds[q.instance] ?? 0;
    let others = 0;
    for (const [h, n] of Object.entries(holds)) if (h !== q.instance) others += n;
    const before = others + mine;
    if (q.holds >= 0) {
      // After a reset the instance has not seen, only the holds taken since its last reply stand.
      mine = known >= 0 && known !== r ? Math.floor(q.fresh) : q.holds;
      if (mine > 0) holds[q.instance] = mine;
      else delete holds[q.instance];
    }
    const held = others + mine;
    if (before === 0 && held > 0) g++;
    if (before > 0 && held === 0) close();

    const B = q.bucket;
    const e = B > 0 ? Math.floor(now / B) : 0;
    if (B > 0 && q.generation === g && Math.floor(q.calls) > 0) {
      const w: Record<string, number> = (windows = { ...windows });
      const add = (field: string, n: number): void => void (w[field] = (w[field] ?? 0) + Math.floor(n));
      add(`${e}c`, q.calls);
      if (q.failures >= 1) add(`${e}f`, q.failures);
      if (q.slow >= 1) add(`${e}s`, q.slow);
    }

    leases = leases.filter((l) => l.at > now);
    // The engine's clock stepped back: no lease lasts longer than one granted now would.
    let span = d > 0 ? d : NO_WAIT_LEASE;
    if (leases.some((l) => l.at > now + span)) {
      leases = leases.map((l) => (l.at > now + span ? { m: l.m, at: now + span } : l));
      leases.sort((a, b) => a.at - b.at || (a.m < b.m ? -1 : 1));
    }
    if (q.released > 0) {
      const pre = `${q.instance}:`;
      let k = 0;
      leases = leases.filter((l) => !(k < q.released && l.m.startsWith(pre) && ++k));
      if (q.generation === g && half()) {
        ok += Math.min(k, q.successes);
        if (ok >= q.successThreshold) close();
      }
    }
    const A = openArg(q.open);
    if (A !== -1 && q.generation === g && held === 0 && (p === 0 || half())) {
      g++;
      p = 1;
      o++;
      ok = 0;
      if (A === -2) d = u = -1;
      else {
        d = A;
        u = now + A;
      }
      leases = [];
    }
    let leased = false;
    if (q.lease !== '' && held === 0 && half() && leases.length < q.maxTrials) {
      span = d > 0 ? d : NO_WAIT_LEASE;
      leases.push({ m: q.lease, at: now + span });
      leases.sort((a, b) => a.at - b.at || (a.m < b.m ? -1 : 1));
      leased = true;
    }
    if (leases.length > 0) kv.set(leaseKey!, leases, Math.max(1, Math.ceil(leases.at(-1)!.at - now)));
    else kv.delete(leaseKey!);

    let calls = 0;
    let fails = 0;
    let slow = 0;
    if (B > 0) {
      const w: Record<string, number> = { ...windows };
      for (const [field, n] of Object.entries(w)) {
        const at = Number(field.slice(0, -1));
        if (!(at > e - BUCKETS && at <= e)) delete w[field];
        else if (field.endsWith('c')) calls += n;
        else if (field.endsWith('f')) fails += n;
        else slow += n;
      }
      if (Object.keys(w).length > 0) kv.set(windowKey!, w, Math.ceil(B * (BUCKETS + 1)));
      else kv.delete(windowKey!);
    } else if (windows === undefined) kv.delete(windowKey!);

    let ttl = q.ttl;
    if (p === 1 && u > now) ttl += u - now;
    if (held > 0 || (p === 1 && u < 0)) ttl = Math.max(ttl, DAY);
    ttl = Math.ceil(ttl);
    kv.set(stateKey!, { g, p, u, d, o, s: ok, r, x } satisfies State, ttl);
    if (held > 0) kv.set(holdKey!, holds, ttl);
    else kv.delete(holdKey!);
    const wait = p !== 1 ? 0 : u < 0 ? -1 : u > now ? Math.ceil(u - now) : 0;
    // As Redis turns the script's numbers into integers.
    return replyOf([g, p, wait, d, o, others, r, leased ? 1 : 0, calls, fails, slow].map(Math.trunc));
  },
};
