// The fleet retry budget's one atomic step (see fleet-budget.ts for the
// instance's side). The store keeps, for one `key`:
// - the fleet's counts in a ring of ten time buckets on the store's clock
//   (each slot stamped with its bucket number, so a stale slot is known by its
//   stamp and the work stays constant however long the key sat idle);
// - the instances recently seen, each with the allowance it was last granted
//   and may still be spending (a reservation, released at its next sync, when
//   it leaves, or when it has not synced for `ttl`).
// Each sync adds the instance's new counts, then grants it a part of what the
// fleet may still spend in the window minus what the others hold: an equal
// share of the fleet's remaining allowance, but one whole retry when the
// share is smaller and one is free (otherwise shares below 1 would never be
// spent). The grants never add up to more than the fleet's allowance, so N
// instances spending between syncs cannot together overspend it; what they
// earn between syncs from their own first attempts (ratio × each) is theirs,
// and adds to the fleet's allowance by the same amount.
import type { MemoryKV, ScriptOp, StoreBackend } from './types.js';

/**
 * One instance's sync of a fleet `RetryBudget`, as {@link StoreBackend}'s
 * `budget` receives it. An engine of your own makes, atomically and on its own
 * clock: add `firsts` and `retries` to the fleet's counts for `key` in the
 * current tenth of `window` (counts older than `window` no longer count); drop
 * instances not seen for `ttl`; then, unless `leave`, record this instance as
 * seen now with its new `grant` (releasing its previous one), where
 * `total = ratio × fleet first attempts + floor − fleet retries`,
 * `free = total − the grants the other instances hold`, `n` = instances present
 * with this one, and `grant = max(0, min(free, max(total / n, min(free, 1))))`
 * rounded down to a millionth. Every key expires once idle.
 */
export interface BudgetRequest {
  /** Who is asking: an id per budget object. */
  readonly instance: string;
  /** First attempts it counted since its last sync. */
  readonly firsts: number;
  /** Retries it spent since its last sync. */
  readonly retries: number;
  /** Retries allowed per first attempt. */
  readonly ratio: number;
  /** Retries allowed in the window whatever the ratio: `minRetriesPerSecond × window / 1000`. */
  readonly floor: number;
  /** The window in ms, over which the fleet's counts are kept (ten buckets). */
  readonly window: number;
  /** ms after its last sync that an instance still counts as present and its grant as held. */
  readonly ttl: number;
  /** The instance goes idle: count its last numbers, release its grant, grant nothing. */
  readonly leave: boolean;
}

/** The store's answer to a {@link BudgetRequest}. */
export interface BudgetReply {
  /** Retries this instance may spend until its next sync (on top of ratio × its own new first attempts). */
  readonly grant: number;
  /** The fleet's first attempts in the window, this sync's included. */
  readonly firstAttempts: number;
  /** The fleet's retries in the window, this sync's included. */
  readonly retries: number;
  /** Instances present, this one included (unless it left). */
  readonly instances: number;
}

const BUCKETS = 10;

// KEYS[1]: the counts (hash: i<slot> = bucket number, f<slot>, r<slot>).
// KEYS[2]: the instances (hash: id = "<last seen ms> <grant>").
// The grant is written and returned with %.17g, which gives back the very double
// the script computed (tostring keeps 14 digits: a large grant would come back,
// and be held, rounded otherwise, unlike the memory twin's); `now` with %.0f, as
// %d is a C long, 32 bits on some builds.
const LUA = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local id = ARGV[1]
local firsts, retries, ratio, floor = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local window, ttl, leave = tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8] == '1'
local index = math.floor(now / (window / 10))
local slot = index % 10
local c = {}
local h = redis.call('HGETALL', KEYS[1])
for i = 1, #h, 2 do c[h[i]] = tonumber(h[i + 1]) end
if c['i' .. slot] ~= index then c['i' .. slot], c['f' .. slot], c['r' .. slot] = index, 0, 0 end
c['f' .. slot] = c['f' .. slot] + firsts
c['r' .. slot] = c['r' .. slot] + retries
redis.call('HSET', KEYS[1], 'i' .. slot, index, 'f' .. slot, c['f' .. slot], 'r' .. slot, c['r' .. slot])
redis.call('PEXPIRE', KEYS[1], math.ceil(window))
local f, r = 0, 0
for s = 0, 9 do
  local at = c['i' .. s]
  if at ~= nil and at > index - 10 and at <= index then
    f = f + c['f' .. s]
    r = r + c['r' .. s]
  end
end
local n, held, gone = 0, 0, {}
local all = redis.call('HGETALL', KEYS[2])
for i = 1, #all, 2 do
  if all[i] ~= id then
    local seen, grant = string.match(all[i + 1], '^(%S+) (%S+)$')
    seen, grant = tonumber(seen), tonumber(grant)
    if seen + ttl <= now then
      gone[#gone + 1] = all[i]
    else
      n = n + 1
      held = held + grant
    end
  end
end
for i = 1, #gone do redis.call('HDEL', KEYS[2], gone[i]) end
local grant = 0
if leave then
  redis.call('HDEL', KEYS[2], id)
else
  n = n + 1
  local total = ratio * f + floor - r
  local free = total - held
  grant = math.min(free, math.max(total / n, math.min(free, 1)))
  if grant < 0 then grant = 0 end
  grant = math.floor(grant * 1000000) / 1000000
  redis.call('HSET', KEYS[2], id, string.format('%.0f %.17g', now, grant))
  redis.call('PEXPIRE', KEYS[2], math.ceil(ttl))
end
return {string.format('%.17g', grant), f, r, n}`;

interface Counts {
  readonly stamp: (number | undefined)[];
  readonly firsts: number[];
  readonly retries: number[];
}
type Instances = Map<string, { seen: number; grant: number }>;

/** A number of the reply (an integer may come as a string); a broken reply is a store failure, not NaN allowances. */
const num = (raw: unknown): number => {
  const n = Number(raw);
  if (raw === null || raw === '' || !Number.isFinite(n) || n < 0) throw new TypeError(`budget: bad reply ${String(raw)}`);
  return n;
};

/**
 * `reply` with every field a finite number at least 0, or a TypeError: the fleet
 * glue reads any backend's reply through it (a `createStore()` engine of the
 * user's own may answer anything), so a reply it cannot read is a store
 * failure like any other, never a throw in a callback or a NaN allowance.
 * @internal
 */
export function readBudgetReply(reply: BudgetReply): BudgetReply {
  if (reply === null || typeof reply !== 'object') throw new TypeError(`budget: bad reply ${String(reply)}`);
  return { grant: num(reply.grant), firstAttempts: num(reply.firstAttempts), retries: num(reply.retries), instances: num(reply.instances) };
}

/**
 * The fleet retry budget's sync: adds an instance's counts to the fleet's and
 * grants it an allowance until its next sync. Keys: `:budget` (the counts) and
 * `:budget:instances`.
 * @internal
 */
export const budgetOp: ScriptOp<BudgetRequest, BudgetReply> = {
  lua: LUA,
  keys: [':budget', ':budget:instances'],
  args: (q) => [q.instance, String(q.firsts), String(q.retries), String(q.ratio), String(q.floor), String(q.window), String(q.ttl), q.leave ? '1' : '0'],
  reply: (raw) => {
    const r = raw as unknown[];
    if (!Array.isArray(r)) throw new TypeError('budget: bad reply');
    return { grant: num(r[0]), firstAttempts: num(r[1]), retries: num(r[2]), instances: num(r[3]) };
  },
  memory: (kv: MemoryKV, keys: string[], q: BudgetRequest, now: number): BudgetReply => {
    // The same steps as the script, on the same numbers (whole ms, as TIME gives them).
    now = Math.floor(now);
    const index = Math.floor(now / (q.window / BUCKETS));
    const slot = index % BUCKETS;
    const counts: Counts = kv.get<Counts>(keys[0]!) ?? { stamp: [], firsts: [], retries: [] };
    if (counts.stamp[slot] !== index) {
      counts.stamp[slot] = index;
      counts.firsts[slot] = 0;
      counts.retries[slot] = 0;
    }
    counts.firsts[slot]! += q.firsts;
    counts.retries[slot]! += q.retries;
    kv.set(keys[0]!, counts, Math.ceil(q.window));
    let f = 0;
    let r = 0;
    for (let s = 0; s < BUCKETS; s++) {
      const at = counts.stamp[s];
      if (at !== undefined && at > index - BUCKETS && at <= index) {
        f += counts.firsts[s]!;
        r += counts.retries[s]!;
      }
    }
    const instances: Instances = kv.get<Instances>(keys[1]!) ?? new Map();
    let n = 0;
    let held = 0;
    for (const [id, entry] of instances) {
      if (id === q.instance) continue;
      if (entry.seen + q.ttl <= now) instances.delete(id);
      else {
        n++;
        held += entry.grant;
      }
    }
    let grant = 0;
    if (q.leave) {
      instances.delete(q.instance);
      // HDEL of the last field deletes the key; an untouched key keeps its expiry.
      if (instances.size === 0) kv.delete(keys[1]!);
    } else {
      n++;
      const total = q.ratio * f + q.floor - r;
      const free = total - held;
      grant = Math.max(0, Math.min(free, Math.max(total / n, Math.min(free, 1))));
      grant = Math.floor(grant * 1_000_000) / 1_000_000;
      instances.set(q.instance, { seen: now, grant });
      kv.set(keys[1]!, instances, Math.ceil(q.ttl));
    }
    return { grant, firstAttempts: f, retries: r, instances: n };
  },
};
