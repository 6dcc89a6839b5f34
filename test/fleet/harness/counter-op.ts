// A ScriptOp of the tests' own, to exercise the stores without the policies'
// ops: a counter on one key, a "last writer" on a second, a third key that is
// never written (nil), every write with an expiry. Plugged in as all three of a
// backend's operations.
import type { MemoryKV, ScriptOp, ScriptOps, StoreBackend } from '../../../src/store/types.js';

export interface CounterRequest {
  /** Added to the counter. */
  readonly by: number;
  /** ms to live of both keys written. */
  readonly ttl: number;
  /** Stored as the last writer. */
  readonly who: string;
}

export interface CounterReply {
  readonly count: number;
  /** ms left on the counter key after the write (the memory twin: `ttl`). */
  readonly ttl: number;
  /** The never-written key: always null. */
  readonly missing: null;
  /** The full key names the op was given (as the memory twin saw them; from the script: KEYS). */
  readonly keys: string[];
}

const num = (v: unknown): number => {
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isFinite(n)) throw new TypeError(`counter: not a number: ${String(v)}`);
  return n;
};

export const counterOp: ScriptOp<CounterRequest, CounterReply> = {
  lua: `local n = redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[2])
return { n, redis.call('PTTL', KEYS[1]), redis.call('GET', KEYS[3]), KEYS }`,
  keys: ['', ':who', ':never'],
  args: (r) => [String(r.by), String(r.ttl), r.who],
  reply(raw) {
    if (!Array.isArray(raw)) throw new TypeError('counter: not an array');
    const [count, ttl, missing, keys] = raw as unknown[];
    if (missing !== null && missing !== undefined) throw new TypeError('counter: the missing key is not nil');
    return { count: num(count), ttl: num(ttl), missing: null, keys: (keys as unknown[]).map(String) };
  },
  memory(kv: MemoryKV, keys: string[], r: CounterRequest): CounterReply {
    const count = (kv.get<number>(keys[0]!) ?? 0) + r.by;
    kv.set(keys[0]!, count, r.ttl);
    kv.set(keys[1]!, r.who, r.ttl);
    const missing = kv.get(keys[2]!);
    if (missing !== undefined) throw new Error('counter: the never-written key was written');
    return { count, ttl: r.ttl, missing: null, keys };
  },
};

/** The counter as all three operations of a backend. */
export const counterOps = { rateLimit: counterOp, breaker: counterOp, budget: counterOp } as unknown as ScriptOps;

/** Runs the counter through one of `backend`'s operations (typed for the policies' requests). */
export function count(backend: StoreBackend, key: string, request: CounterRequest, via: 'rateLimit' | 'breaker' | 'budget' = 'rateLimit'): Promise<CounterReply> {
  return (backend[via] as unknown as (key: string, request: CounterRequest) => Promise<CounterReply>)(key, request);
}
