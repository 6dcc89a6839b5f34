// Integration run: steady traffic against a real PostgreSQL through the item
// store's pipelines, and two incidents on purpose:
//   1. a crash: `pg_ctl stop -m immediate`, 3 s down, `pg_ctl start`;
//   2. a hang: every server process frozen (SIGSTOP) for 1.5 s, then thawed.
// Prints a timeline and exits non-zero unless:
//   - the breaker opened during each incident and closed after it;
//   - reads were served by the fallback while the server was down, by the database after;
//   - every write reported successful is committed exactly once;
//   - no call took longer than its timeout (plus a little slack).
import pg from 'pg';
import { createCluster } from './cluster.js';
import { createItemStore, SCHEMA } from './service.js';

const WORKERS = 6;
const POOL_SIZE = 4;
const QUERY_TIMEOUT = 300;
const CALL_TIMEOUT = 1_500;
const SLACK = 150; // event-loop and scheduling jitter on a shared 2-core machine

// A seeded PRNG (mulberry32): the same traffic on every run.
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface CallRecord {
  readonly op: 'read' | 'write';
  readonly start: number;
  readonly end: number;
  readonly outcome: 'fresh' | 'stale' | 'ok' | 'failed';
}

const t0 = performance.now();
const at = (): number => Math.round(performance.now() - t0);
const mark = (line: string): void => console.log(`${String(at()).padStart(6)} ms  ${line}`);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const cluster = await createCluster();
let pool: pg.Pool | undefined;
let cleaned = false;
const cleanup = async (): Promise<void> => {
  if (cleaned) return;
  cleaned = true;
  cluster.thaw();
  await pool?.end().catch(() => {});
  await cluster.destroy();
};
process.once('SIGINT', () => void cleanup().finally(() => process.exit(130)));
process.once('SIGTERM', () => void cleanup().finally(() => process.exit(143)));
process.once('uncaughtException', (error) => {
  console.error('integration run crashed:', error);
  void cleanup().finally(() => process.exit(1));
});

let exitCode = 1;
try {
  await cluster.start();
  mark(`postgres up on ${cluster.host}:${cluster.port} (data in ${cluster.dir})`);
  pool = new pg.Pool({
    host: cluster.host,
    port: cluster.port,
    user: 'postgres',
    database: 'postgres',
    max: POOL_SIZE,
    connectionTimeoutMillis: QUERY_TIMEOUT,
    idleTimeoutMillis: 1_000,
  });
  // An idle connection that the server drops emits here; unheard, it would crash the process.
  pool.on('error', () => {});
  await pool.query(SCHEMA);

  const random = seeded(42);
  const store = createItemStore(pool, { poolSize: POOL_SIZE, queryTimeout: QUERY_TIMEOUT, callTimeout: CALL_TIMEOUT, random });
  const transitions: { at: number; to: string }[] = [];
  store.breaker.on('stateChange', ({ from, to }) => {
    transitions.push({ at: at(), to });
    // Open/half-open flapping while the server is away is summarised, not printed line by line.
    if (to === 'open' && from === 'half-open') return;
    if (to === 'half-open') return;
    mark(`breaker ${from} -> ${to}`);
  });
  const queryTimeouts: number[] = [];
  store.perQuery.on('timeout', () => queryTimeouts.push(at()));

  const calls: CallRecord[] = [];
  const acked = new Map<string, { item: string; amount: number }>();
  const outbox: { id: string; item: string; amount: number }[] = [];
  let repeats = 0; // re-sent writes the database had already applied: their first acknowledgement was lost
  let writeSeq = 0;
  let stopping = false;

  async function worker(): Promise<void> {
    while (!stopping) {
      const start = at();
      if (random() < 0.6) {
        const { stale } = await store.read(`item-${Math.floor(random() * 5)}`);
        calls.push({ op: 'read', start, end: at(), outcome: stale ? 'stale' : 'fresh' });
      } else {
        // A write that failed waits in an outbox and is sent again later under the same key.
        const write = outbox.shift() ?? { id: `w-${++writeSeq}`, item: `item-${Math.floor(random() * 5)}`, amount: 1 + Math.floor(random() * 9) };
        try {
          if (!(await store.add(write.id, write.item, write.amount))) repeats++;
          acked.set(write.id, write);
          calls.push({ op: 'write', start, end: at(), outcome: 'ok' });
        } catch {
          outbox.push(write);
          calls.push({ op: 'write', start, end: at(), outcome: 'failed' });
        }
      }
      await sleep(5 + Math.floor(random() * 15));
    }
  }

  const t = { stop: 0, down: 0, start: 0, up: 0, freeze: 0, thaw: 0, end: 0 };
  async function incidents(): Promise<void> {
    await sleep(2_000);
    mark('incident 1: pg_ctl stop -m immediate');
    t.stop = at();
    await cluster.stop('immediate');
    t.down = at();
    mark('postgres is down');
    await sleep(3_000);
    mark('pg_ctl start');
    t.start = at();
    await cluster.start();
    t.up = at();
    mark('postgres accepts connections again');
    await sleep(2_500);
    mark('incident 2: every postgres process frozen (SIGSTOP)');
    t.freeze = at();
    cluster.freeze();
    await sleep(1_500);
    cluster.thaw();
    t.thaw = at();
    mark('thawed (SIGCONT)');
    await sleep(2_500);
    t.end = at();
    stopping = true;
  }

  mark(`traffic: ${WORKERS} workers, 60% reads / 40% writes, pool of ${POOL_SIZE}, query timeout ${QUERY_TIMEOUT} ms, call timeout ${CALL_TIMEOUT} ms`);
  await Promise.all([incidents(), ...Array.from({ length: WORKERS }, () => worker())]);
  mark(`traffic stopped; sending the ${outbox.length} writes left in the outbox`);
  while (outbox.length > 0) {
    const write = outbox.shift()!;
    if (!(await store.add(write.id, write.item, write.amount))) repeats++;
    acked.set(write.id, write);
  }

  // --- the summary -------------------------------------------------------
  const phases: [string, number, number][] = [
    ['steady', 0, t.stop],
    ['stopping', t.stop, t.down],
    ['down', t.down, t.start],
    ['starting', t.start, t.up],
    ['recovering', t.up, t.freeze],
    ['frozen', t.freeze, t.thaw],
    ['after the thaw', t.thaw, Infinity],
  ];
  const between = (from: number, to: number, op?: string, outcome?: string): CallRecord[] =>
    calls.filter((c) => c.start >= from && c.start < to && (op === undefined || c.op === op) && (outcome === undefined || c.outcome === outcome));
  const opensIn = (from: number, to: number): number => transitions.filter((e) => e.to === 'open' && e.at >= from && e.at < to).length;
  console.log('\nphase            ms   reads fresh/stale   writes ok/failed   query timeouts   breaker opens   slowest call');
  for (const [name, from, to] of phases) {
    const slowest = Math.max(0, ...between(from, to).map((c) => c.end - c.start));
    console.log(
      name.padEnd(15) +
        `${Math.min(to, t.end) - from}`.padStart(5) +
        `${between(from, to, 'read', 'fresh').length}/${between(from, to, 'read', 'stale').length}`.padStart(20) +
        `${between(from, to, 'write', 'ok').length}/${between(from, to, 'write', 'failed').length}`.padStart(19) +
        `${queryTimeouts.filter((x) => x >= from && x < to).length}`.padStart(17) +
        `${opensIn(from, to)}`.padStart(16) +
        `${slowest} ms`.padStart(15),
    );
  }

  // --- the checks --------------------------------------------------------
  const failures: string[] = [];
  const check = (ok: boolean, what: string): void => {
    console.log(`${ok ? 'ok  ' : 'FAIL'}  ${what}`);
    if (!ok) failures.push(what);
  };
  const closedBetween = (from: number, to: number): boolean => transitions.some((e) => e.to === 'closed' && e.at >= from && e.at < to);
  console.log('');
  check(opensIn(t.stop, t.up) > 0 && closedBetween(t.start, t.freeze), 'incident 1: the breaker opened while the server was down and closed after the restart');
  check(opensIn(t.freeze, t.thaw + QUERY_TIMEOUT) > 0 && closedBetween(t.thaw, Infinity), 'incident 2: the breaker opened while the server hung and closed after the thaw');
  check(store.breaker.state === 'closed', 'the breaker ends closed');
  const readsDown = between(t.down, t.start, 'read');
  const staleDown = readsDown.filter((c) => c.outcome === 'stale');
  check(staleDown.length > 0 && staleDown.length === readsDown.length, `every read while the server was down came from the fallback (${staleDown.length}/${readsDown.length})`);
  check(between(t.freeze, t.thaw, 'read', 'stale').length > 0, `reads were served by the fallback while the server hung (${between(t.freeze, t.thaw, 'read', 'stale').length})`);
  const settled = (from: number, to: number): boolean => between(from, to, 'read', 'fresh').length > 0 && between(from, to, 'read', 'stale').length === 0;
  check(settled(t.up + 1_000, t.freeze) && settled(t.thaw + 1_000, Infinity), 'reads came from the database again within 1 s of each recovery');
  check(queryTimeouts.some((x) => x >= t.freeze && x < t.thaw + QUERY_TIMEOUT), `the per-query timeout cut hung queries short (${queryTimeouts.length} timeouts)`);

  const rows = await pool.query<{ id: string }>('SELECT id FROM writes');
  const committed = new Set(rows.rows.map((r) => r.id));
  const missing = [...acked.keys()].filter((id) => !committed.has(id));
  check(acked.size > 0 && missing.length === 0, `every acknowledged write is committed (${acked.size} acknowledged, ${missing.length} missing)`);
  const totals = await pool.query<{ id: string; total: string }>('SELECT id, total FROM items');
  const expected = new Map<string, number>();
  for (const w of acked.values()) expected.set(w.item, (expected.get(w.item) ?? 0) + w.amount);
  const wrong = totals.rows.filter((r) => Number(r.total) !== (expected.get(r.id) ?? 0));
  check(
    wrong.length === 0 && committed.size === acked.size,
    `every write was applied exactly once: each total equals the sum of its acknowledged writes (${repeats} re-sent writes had already been applied)`,
  );
  const limit = CALL_TIMEOUT + SLACK;
  const slowest = Math.max(...calls.map((c) => c.end - c.start));
  check(slowest <= limit, `no call took longer than its ${CALL_TIMEOUT} ms timeout + ${SLACK} ms (slowest ${slowest} ms of ${calls.length} calls)`);
  check(between(t.thaw + 1_000, Infinity, 'write', 'ok').length > 0, 'writes succeed again after the incidents');

  console.log(failures.length === 0 ? '\nintegration: all checks passed' : `\nintegration: ${failures.length} check(s) failed`);
  exitCode = failures.length === 0 ? 0 : 1;
} catch (error) {
  console.error('integration run crashed:', error);
  exitCode = 1;
} finally {
  await cleanup();
}
process.exit(exitCode);
