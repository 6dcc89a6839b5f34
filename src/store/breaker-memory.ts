// The fleet breaker's sync in one process: the memory store's twin of the
// Lua script in breaker-lua.ts. It walks the script's steps in the same order,
// on the same state and the same clock, and answers with the script's numbers
// read back as the script's are, so that the memory store decides exactly as
// Redis does (test/fleet/circuit-breaker.test.ts runs both on the same
// requests). A file of its own: next to the script, each side reads alone.
import { openArg, replyOf } from './breaker-lua.js';
import type { BreakerReply, BreakerRequest } from './breaker-op.js';
import type { MemoryKV } from './types.js';

/** Buckets of the fleet's time window, as in the local one (breaker/window.ts). */
const BUCKETS = 10;
/** ms an isolated state, or one open without end, outlives the last sync. */
const DAY = 86_400_000;
/** A trial's lease after an open wait of 0 (the local breaker's hung-trial wait). */
const NO_WAIT_LEASE = 30_000;

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

/** The script's decision on the memory store's keyspace (`keys`: the op's four, in order). @internal */
export function breakerMemory(kv: MemoryKV, [stateKey, leaseKey, windowKey, holdKey]: string[], q: BreakerRequest, now: number): BreakerReply {
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
}
