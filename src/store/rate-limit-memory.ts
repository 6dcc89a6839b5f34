// The fleet rate limiter's decision in one process: the memory store's twin of
// the Lua script in rate-limit-lua.ts, walking its steps in the same order and
// the same units, so that the memory store (and the 'local' fallback's bucket,
// local-bucket.ts) decides exactly as Redis does. A file of its own: next to
// the script, each side reads alone.
import type { RateLimitReply, RateLimitRequest } from './rate-limit-op.js';
import { intervalUs, maxWaitUs } from './rate-limit-lua.js';
import type { MemoryKV } from './types.js';

/** The TAT as the memory store keeps it: q + r / limit µs, written at l µs. */
interface Tat {
  readonly q: number;
  readonly r: number;
  readonly l: number;
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

/** The script's decision on the memory store's keyspace (`keys`: the TAT's, the heartbeat set's). @internal */
export function rateLimitMemory(kv: MemoryKV, keys: string[], request: RateLimitRequest, nowMs: number): RateLimitReply {
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
}
