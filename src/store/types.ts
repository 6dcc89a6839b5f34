// The seams of fleet state. Three layers, each replaceable:
// - StoreBackend: what an engine implements (Redis via Lua, memory, or a user's
//   PostgreSQL/DynamoDB/Durable Object): three atomic operations on the
//   engine's own clock, plus a ping.
// - StoreLink: one per store object; bounds every operation by the store's
//   timeout and the caller's signal, and holds the store's health (down after a
//   failure, probed in the background until it answers).
// - The fleet glue of each policy (limiter, breaker, budget): what a policy
//   does with the backend (deny cache, batching, leases), reached through the
//   Store object so that a policy without a store carries none of it.
import type { BreakerReply, BreakerRequest } from './breaker-op.js';
import type { BudgetReply, BudgetRequest } from './budget-op.js';
import type { RateLimitReply, RateLimitRequest } from './rate-limit-op.js';
import type { FleetGlue } from './store.js';

export type { BreakerReply, BreakerRequest, BudgetReply, BudgetRequest, RateLimitReply, RateLimitRequest };

/**
 * What a storage engine implements to hold breakwater's fleet state; pass it to
 * {@link createStore}. Every method is one atomic decision, on the engine's
 * clock (never an instance's), and every key it writes expires once idle.
 * `key` is the policy's `key` option; the engine namespaces it.
 *
 * The store bounds each call by its `timeout` and treats a rejection (or a
 * call slower than that) as an outage: policies go local at once, and `ping`
 * is called in the background until it resolves. A method need not handle
 * timeouts or retries itself, and should not retry: a late answer is ignored.
 * The request and reply types document each decision; the memory store's
 * source (`createMemoryStore`) is a complete reference implementation.
 */
export interface StoreBackend {
  /** Takes a token from the fleet's bucket for `key` (GCRA), or says when one is due. */
  rateLimit(key: string, request: RateLimitRequest): Promise<RateLimitReply>;
  /** Merges one instance's breaker outcomes and state moves into the fleet's, and returns the fleet's state. */
  breaker(key: string, request: BreakerRequest): Promise<BreakerReply>;
  /** Merges one instance's retry-budget counts into the fleet's, and returns its allowance. */
  budget(key: string, request: BudgetRequest): Promise<BudgetReply>;
  /** A cheap round trip, to probe a store that failed. */
  ping(): Promise<unknown>;
}

/**
 * One atomic operation as a Redis script, with its twin for the memory store:
 * both must make the same decisions from the same state.
 * @internal
 */
export interface ScriptOp<Request, Reply> {
  /** Lua. `KEYS` as listed by `keys`, `ARGV` from `args`; time from `redis.call('TIME')`; every write sets an expiry. */
  readonly lua: string;
  /** Suffixes of the keys it touches; the store names each `prefix + '{' + key + '}' + suffix` (one Cluster slot). */
  readonly keys: readonly string[];
  /** The request as `ARGV`. */
  args(request: Request): string[];
  /**
   * The script's reply as `Reply`. The Redis store passes it normalised (nil as `null`, bulk strings as
   * strings, nested arrays), but integers arrive as numbers or strings, depending on the client. Redis turns
   * a Lua number into an integer by truncation, and a Lua table ends at its first nil: return 0/1, not booleans
   * or nils, inside a table.
   */
  reply(raw: unknown): Reply;
  /** The same decision in one process: `kv` holds full key names with expiries, `now` is the shared clock in ms. */
  memory(kv: MemoryKV, keys: string[], request: Request, now: number): Reply;
}

/** The three operations of the built-in stores, one per policy. @internal */
export interface ScriptOps {
  readonly rateLimit: ScriptOp<RateLimitRequest, RateLimitReply>;
  readonly breaker: ScriptOp<BreakerRequest, BreakerReply>;
  readonly budget: ScriptOp<BudgetRequest, BudgetReply>;
}

/** The memory store's keyspace: values of any shape, each with an expiry. @internal */
export interface MemoryKV {
  /** The value, or `undefined` once it expired or was never set. */
  get<T>(key: string): T | undefined;
  /** Sets `value`, expiring `ttl` ms after `now` (the clock the op was given). */
  set(key: string, value: unknown, ttl: number): void;
  delete(key: string): void;
}

/**
 * A store's connection as the policies see it: its deadline and its health.
 * @internal
 */
export interface StoreLink {
  readonly backend: StoreBackend;
  /** ms; an operation slower than this is a store failure. */
  readonly timeout: number;
  /** True from a failure until a background probe gets an answer; operations then reject at once. */
  readonly down: boolean;
  /**
   * Runs `op`, bounded by `timeout` and `signal`. While the store is down it
   * rejects at once (no backend call) with the outage's error (the first
   * failure's). An error, or a timeout (a `TimeoutError` with `timeout`), marks
   * the store down for every policy using it and starts probing with
   * `backend.ping()` (each bounded by `timeout`; 100 ms after the failure,
   * then doubling up to 1 s) until it answers. An abort of `signal` rejects
   * with `signal.reason` and is no store failure. Whatever `op` does after the
   * call settled is ignored; no timer or listener outlives the call; never
   * leaves a rejection unhandled. Probing pauses after a failed probe when no
   * `run` was refused since the previous one (an `onUp` waiting alone does not
   * keep it going); the next `run` (refused at once) starts it again. A failure
   * of an operation sent before the last recovery marks nothing down.
   */
  run<R>(op: (backend: StoreBackend) => Promise<R>, signal?: AbortSignal): Promise<R>;
  /**
   * Calls `up(downtime)` (ms) once when the current outage ends — at once, synchronously, with 0 if the store
   * is up. Returns a cancel. Registrations are dropped when they are called, so none outlives an outage.
   */
  onUp(up: (downtime: number) => void): () => void;
}

/**
 * A store of fleet state, for the `store` option of `RateLimiter`,
 * `CircuitBreaker` and `RetryBudget`: made by {@link createRedisStore},
 * {@link createMemoryStore} or {@link createStore}. Policies that share a store
 * (or stores on one engine) and a `key` share one state.
 */
export interface Store {
  /** @internal */
  readonly link: StoreLink;
  /** @internal */
  readonly fleet: FleetGlue;
}
