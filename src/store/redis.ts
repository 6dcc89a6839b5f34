import { builtinOps, keyNames, storeOf, timeoutOption } from './store.js';
import { rateLimitReplies } from './rate-limit-lua.js';
import { rateLimitOp, type RateLimitReply, type RateLimitRequest } from './rate-limit-op.js';
import type { ScriptOp, ScriptOps, Store, StoreBackend } from './types.js';
import { invalid, objectOptions, required } from '../internal/validate.js';

/** Runs one Redis command with the user's client: `command` as Redis names it, every argument a string. */
export type RedisSend = (command: string, args: string[]) => Promise<unknown>;

/** Options of {@link createRedisStore}. */
export interface RedisStoreOptions {
  /**
   * Runs one Redis command with your client, and resolves with its reply (or
   * rejects with the server's error). Required.
   * - ioredis: `(command, args) => redis.call(command, ...args)`
   * - node-redis: `(command, args) => client.sendCommand([command, ...args])`
   * - Bun: `(command, args) => redis.send(command, args)`
   */
  readonly send: RedisSend;
  /**
   * Prepended to every key the store writes: a key is
   * `prefix + '{' + key + '}' + suffix`, so all of one `key`'s share a Redis
   * Cluster hash slot.
   * @default 'breakwater:'
   */
  readonly prefix?: string | undefined;
  /**
   * ms; a store operation slower than this counts as a store failure: the
   * call goes on with local state and the store is probed in the background.
   * @default 50
   */
  readonly timeout?: number | undefined;
}

let decoder: TextDecoder | undefined;

/**
 * A reply as the ops read it, whatever the client: nil as `null` (some give
 * `undefined`), bulk strings as strings (some give bytes), integers as numbers
 * or strings (left as they come: `reply` reads both), bigints as numbers,
 * arrays element by element (copied only when an element changes). An Error
 * resolved as a value (some clients resolve the server's error replies) is
 * thrown: the command failed. Call it inside a `then` handler, never bare.
 */
function normalise(value: unknown): unknown {
  if (typeof value === 'number' || typeof value === 'string') return value;
  if (value === undefined) return null;
  if (typeof value === 'bigint') return Number(value);
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      const w = normalise(v);
      if (w !== v || out !== undefined) (out ??= value.slice(0, i))[i] = w;
    }
    return out ?? value;
  }
  if (value instanceof Uint8Array) return (decoder ??= new TextDecoder()).decode(value);
  if (value instanceof Error) throw value;
  return value;
}

/** Whether a failed EVALSHA means the server does not have the script (restart, failover, SCRIPT FLUSH). */
function noScript(error: unknown): boolean {
  return String((error as { message?: unknown } | null)?.message ?? error).includes('NOSCRIPT');
}

/** At most this many rate-limit decisions share one script call (a bound on the reply's size). */
const MAX_BATCH = 256;

/**
 * The rate limiter's calls for one key and request (a fleet limiter sends the
 * same two request objects, with and without its heartbeat, every time): the
 * script's KEYS and ARGV built once, and the calls waiting for the next script.
 */
interface Batch {
  readonly key: string;
  /** numkeys, KEYS, ARGV (without the count): EVALSHA's arguments after the hash. */
  readonly rest: string[];
  readonly beat: boolean;
  /** resolve, reject, resolve, reject…: the calls of the script about to be sent; undefined when none. */
  waiting: ((value: never) => void)[] | undefined;
}

/**
 * A backend running each op as its Lua script. The script's SHA-1 is learned
 * from `SCRIPT LOAD`, sent once per op before its first `EVAL` (so, on one
 * connection, its reply comes first and the second call already uses
 * `EVALSHA`); until then, or if it failed, calls use `EVAL`. An `EVALSHA`
 * the server answers with NOSCRIPT is sent again as `EVAL`, which also
 * caches the script on that server: the call does not fail.
 *
 * The built-in rate limiter's calls for one key and request made in the same
 * turn of the event loop (before a microtask queued by the first runs) go
 * out as one script call that makes their decisions in a row, in call order:
 * the decisions n calls at the same instant would get, for one round trip.
 * @internal
 */
export function redisBackend(send: RedisSend, prefix: string, ops: ScriptOps = builtinOps()): StoreBackend {
  const shas = new Map<ScriptOp<never, unknown>, string>();
  const loading = new Set<ScriptOp<never, unknown>>();

  const learn = (op: ScriptOp<never, unknown>): void => {
    loading.add(op);
    let loaded: Promise<unknown>;
    try {
      loaded = Promise.resolve(send('SCRIPT', ['LOAD', op.lua]));
    } catch (error) {
      loaded = Promise.reject(error);
    }
    loaded.then(
      (sha) => {
        loading.delete(op);
        // A hash as a string or as bytes; anything else (an error resolved as a value) is not learned.
        const s = typeof sha === 'string' || sha instanceof Uint8Array ? normalise(sha) : undefined;
        if (typeof s === 'string' && /^[0-9a-f]{40}$/i.test(s)) shas.set(op, s);
      },
      // Learned on a later call; meanwhile EVAL works.
      () => loading.delete(op),
    );
  };

  /** `op`'s script with `rest` (numkeys, KEYS, ARGV), by EVALSHA once its hash is known; the raw reply, normalised. */
  const script = (op: ScriptOp<never, unknown>, rest: string[]): Promise<unknown> => {
    try {
      const sha = shas.get(op);
      if (sha === undefined) {
        if (!loading.has(op)) learn(op);
        return Promise.resolve(send('EVAL', [op.lua, ...rest])).then(normalise);
      }
      // NOSCRIPT rejected, or resolved as an Error value by a client that resolves error replies: EVAL.
      const again = (error: unknown): Promise<unknown> => {
        if (!noScript(error)) throw error;
        return Promise.resolve(send('EVAL', [op.lua, ...rest])).then(normalise);
      };
      return Promise.resolve(send('EVALSHA', [sha, ...rest])).then((raw) => (raw instanceof Error ? again(raw) : normalise(raw)), again);
    } catch (error) {
      return Promise.reject(error);
    }
  };

  const run = <Q, R>(op: ScriptOp<Q, R>, key: string, request: Q): Promise<R> => {
    try {
      const keys = keyNames(prefix, key, op.keys);
      return script(op as ScriptOp<never, unknown>, [String(keys.length), ...keys, ...op.args(request)]).then((raw) => op.reply(raw));
    } catch (error) {
      return Promise.reject(error);
    }
  };

  // The rate limiter's batches, by request object (one per key at a time: a limiter has one key).
  const batches = new WeakMap<RateLimitRequest, Batch>();

  const flush = (batch: Batch): void => {
    const waiting = batch.waiting;
    // Already sent: a full batch goes at once, before the microtask its first call queued.
    if (waiting === undefined) return;
    batch.waiting = undefined;
    const n = waiting.length / 2;
    script(rateLimitOp as ScriptOp<never, unknown>, n === 1 ? batch.rest : [...batch.rest, String(n)]).then(
      (raw) => {
        let replies: RateLimitReply[];
        try {
          replies = rateLimitReplies(raw, n, batch.beat);
        } catch (error) {
          for (let i = 1; i < waiting.length; i += 2) waiting[i]!(error as never);
          return;
        }
        for (let i = 0; i < n; i++) waiting[2 * i]!(replies[i] as never);
      },
      (error: unknown) => {
        for (let i = 1; i < waiting.length; i += 2) waiting[i]!(error as never);
      },
    );
  };

  const rateLimit = (key: string, request: RateLimitRequest): Promise<RateLimitReply> => {
    let batch = batches.get(request);
    if (batch === undefined || batch.key !== key) {
      try {
        const keys = keyNames(prefix, key, rateLimitOp.keys);
        batch = { key, rest: [String(keys.length), ...keys, ...rateLimitOp.args(request)], beat: request.instance !== '', waiting: undefined };
      } catch (error) {
        return Promise.reject(error);
      }
      batches.set(request, batch);
    }
    const b = batch;
    return new Promise<RateLimitReply>((resolve, reject) => {
      if (b.waiting === undefined) {
        b.waiting = [];
        queueMicrotask(() => flush(b));
      }
      b.waiting.push(resolve, reject);
      if (b.waiting.length >= 2 * MAX_BATCH) flush(b);
    });
  };

  return {
    rateLimit: ops.rateLimit === rateLimitOp ? rateLimit : (key, request) => run(ops.rateLimit, key, request),
    breaker: (key, request) => run(ops.breaker, key, request),
    budget: (key, request) => run(ops.budget, key, request),
    ping: () => {
      try {
        return Promise.resolve(send('PING', []));
      } catch (error) {
        return Promise.reject(error);
      }
    },
  };
}

/** `options` checked: `send` a function, `prefix` a string, `timeout` a finite number above 0. @internal */
function redisOptions(options: RedisStoreOptions): { send: RedisSend; prefix: string; timeout: number } {
  const owner = 'createRedisStore';
  if (options === undefined) required(owner, 'send');
  const o = objectOptions<RedisStoreOptions>(owner, options, 'send prefix timeout');
  const { send, prefix = 'breakwater:' } = o;
  if (send === undefined) required(owner, 'send');
  if (typeof send !== 'function') invalid(owner, 'send', 'a function', send);
  if (typeof prefix !== 'string') invalid(owner, 'prefix', 'a string', prefix);
  return { send, prefix, timeout: timeoutOption(owner, o.timeout) };
}

/**
 * A {@link Store} in Redis 6.0 or later (or a Redis-compatible server: Valkey, KeyDB,
 * Dragonfly…), reached through your own client with one function, `send`.
 * Each decision is one Lua script, called by `EVALSHA` (a server that lost
 * its scripts is handled without a failed call), on the server's clock
 * (`TIME`); every key written expires; all keys of one `key` share a
 * Cluster hash slot.
 *
 * @throws TypeError when `send` is missing or not a function, `prefix` is not a string, or an option is unknown.
 * @throws RangeError when `timeout` is not a finite number above 0.
 *
 * @example
 * ```ts
 * import { createRedisStore, RateLimiter } from 'breakwater';
 *
 * // Your client, e.g. ioredis' `new Redis()`: breakwater needs only a way to send one command.
 * declare const redis: { call(command: string, ...args: string[]): Promise<unknown> };
 * const store = createRedisStore({ send: (command, args) => redis.call(command, ...args) });
 * const limiter = new RateLimiter({ limit: 100, interval: 1_000, store, key: 'api.example.com' });
 * ```
 */
/* @__NO_SIDE_EFFECTS__ */
export function createRedisStore(options: RedisStoreOptions): Store {
  const { send, prefix, timeout } = redisOptions(options);
  return storeOf(redisBackend(send, prefix), timeout);
}
