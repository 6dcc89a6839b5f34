// A small service over PostgreSQL that keeps answering while the database
// restarts: every query runs through one breakwater pipeline.
//
//   reads:  fallback → call timeout → retry → breaker → query timeout → bulkhead → query
//   writes:            call timeout → retry → breaker → query timeout → bulkhead → query
//
// - the bulkhead is sized to the pool, so calls wait in breakwater's queue (which
//   honours timeouts and aborts), never invisibly inside pg's pool;
// - the query timeout aborts the query by destroying its connection, so a hung
//   query frees its pool slot;
// - retry and breaker only count connection trouble (refused, reset, server
//   shutting down or starting up, timeouts), never a bad query;
// - writes are idempotent: each carries a key, so a retried write whose
//   acknowledgement was lost is not applied twice;
// - reads fall back to the last value seen when the database cannot answer.
import {
  Bulkhead,
  CircuitBreaker,
  retryWithBackoff,
  withFallback,
  withTimeout,
  wrap,
  type PolicyContext,
} from 'breakwater';
import type pg from 'pg';

/** SQLSTATE classes 08 (connection exception) and 57P (operator intervention: shutdown, starting up). */
const CONNECTION_STATES = /^(?:08|57P0[1-3])/;
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH']);
const CONNECTION_MESSAGES = /Connection terminated|connection error|timeout exceeded when trying to connect|not queryable/i;

/** Whether `error` means "the database could not be reached or dropped us": worth a retry, and a breaker's business. */
export function isConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === 'TimeoutError') return true;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (CONNECTION_STATES.test(code) || NETWORK_CODES.has(code))) return true;
  return CONNECTION_MESSAGES.test(error.message);
}

function ignore(): void {}

/**
 * Runs one query on a pooled connection. Aborting `signal` ends that
 * connection: the query stops waiting at once and the slot is freed.
 */
export async function query<R extends pg.QueryResultRow>(
  pool: pg.Pool,
  text: string,
  values: readonly unknown[],
  signal: AbortSignal,
): Promise<pg.QueryResult<R>> {
  const client = await pool.connect();
  // A checked-out client reports a dropped connection as an 'error' event, which
  // would crash the process unheard; the query's own rejection says enough.
  client.on('error', ignore);
  let released = false;
  const release = (error?: Error): void => {
    if (released) return;
    released = true;
    // With an error pg closes the connection instead of pooling it; such a client
    // keeps the listener, since its socket may still report the drop.
    if (error === undefined) client.off('error', ignore);
    client.release(error);
  };
  const onAbort = (): void => release(new Error('query aborted'));
  if (signal.aborted) {
    release();
    throw signal.reason;
  }
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await client.query<R>(text, values as unknown[]);
  } catch (error) {
    release(isConnectionError(error) ? (error as Error) : undefined);
    throw error;
  } finally {
    signal.removeEventListener('abort', onAbort);
    release();
  }
}

export interface StoreOptions {
  /** Connections in the pool; the bulkhead admits as many queries at once. */
  readonly poolSize: number;
  /** Bound on one query, queueing for a connection included. @default 300 */
  readonly queryTimeout?: number;
  /** Bound on a whole call, retries included. @default 1_500 */
  readonly callTimeout?: number;
  /** Seeded randomness for the retry's jitter. @default Math.random */
  readonly random?: () => number;
}

/** What `read` answers: the total, and whether it came from the fallback. */
export interface ReadResult {
  readonly total: number;
  readonly stale: boolean;
}

/** `SELECT` of one item's total, and an idempotent write that adds to it. */
export const SCHEMA = `
  CREATE TABLE IF NOT EXISTS items (id text PRIMARY KEY, total bigint NOT NULL);
  CREATE TABLE IF NOT EXISTS writes (id text PRIMARY KEY, item text NOT NULL, amount bigint NOT NULL);
`;

// One statement, so one transaction: the write is recorded under its key and
// added to the item's total only if the key is new. "applied" is 0 for a repeat.
const ADD = `
  WITH ins AS (
    INSERT INTO writes (id, item, amount) VALUES ($1, $2, $3)
    ON CONFLICT (id) DO NOTHING
    RETURNING item, amount
  ), upd AS (
    INSERT INTO items (id, total) SELECT item, amount FROM ins
    ON CONFLICT (id) DO UPDATE SET total = items.total + EXCLUDED.total
    RETURNING 1
  )
  SELECT count(*)::int AS applied FROM upd`;

const STALE = Symbol('stale');

/** The service: reads with a fallback, idempotent writes, one breaker and one bulkhead for the database. */
export function createItemStore(pool: pg.Pool, options: StoreOptions) {
  const queryTimeout = options.queryTimeout ?? 300;
  const callTimeout = options.callTimeout ?? 1_500;
  const breaker = new CircuitBreaker({ failureThreshold: 3, openDuration: 500, handle: isConnectionError });
  const bulkhead = new Bulkhead({ maxConcurrent: options.poolSize, maxQueue: options.poolSize * 8 });
  const retry = retryWithBackoff({
    maxRetries: 2,
    initialDelay: 50,
    maxDelay: 300,
    handle: isConnectionError,
    ...(options.random === undefined ? {} : { random: options.random }),
  });
  const fallback = withFallback<typeof STALE>(STALE);
  const perQuery = withTimeout(queryTimeout);
  const database = wrap(retry, breaker, perQuery, bulkhead);
  const reads = wrap(fallback, withTimeout(callTimeout), database);
  const writes = wrap(withTimeout(callTimeout), database);
  const lastSeen = new Map<string, number>();

  return {
    breaker,
    bulkhead,
    retry,
    fallback,
    perQuery,
    callTimeout,

    /** An item's total; the last one seen (stale) when the database cannot answer. */
    async read(item: string): Promise<ReadResult> {
      const total = await reads.execute(async ({ signal }: PolicyContext) => {
        const result = await query<{ total: string }>(pool, 'SELECT total FROM items WHERE id = $1', [item], signal);
        return Number(result.rows[0]?.total ?? 0);
      });
      if (total === STALE) return { total: lastSeen.get(item) ?? 0, stale: true };
      lastSeen.set(item, total);
      return { total, stale: false };
    },

    /**
     * Adds `amount` to `item` under the key `writeId`. Resolves with whether this
     * call applied it (false: an earlier call with the same key already had).
     */
    async add(writeId: string, item: string, amount: number): Promise<boolean> {
      return writes.execute(async ({ signal }: PolicyContext) => {
        const result = await query<{ applied: number }>(pool, ADD, [writeId, item, amount], signal);
        return result.rows[0]?.applied === 1;
      });
    },
  };
}
