// The fleet RetryBudget against a real redis-server: the Lua script and its
// memory twin decide alike, budgets on separate connections share one floor,
// and a store killed mid-run leaves each budget on its own counts (events once
// each) until it is back, when the budgets share again by themselves.
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { RetryBudget } from '../../src/retry-budget.js';
import { budgetOp, type BudgetRequest } from '../../src/store/budget-op.js';
import { memoryBackend } from '../../src/store/memory.js';
import { createRedisStore, redisBackend } from '../../src/store/redis.js';
import type { ScriptOps, StoreBackend } from '../../src/store/types.js';
import { describeRedis, startRedis, type RedisServer } from './harness/redis-server.js';
import { connect, type RespClient } from '../../examples/fleet/resp.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ok: () => boolean, ms = 3_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!ok()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

function spend(budget: RetryBudget): number {
  let n = 0;
  while (n < 1_000 && budget.tryRetry()) n++;
  return n;
}

describeRedis('fleet RetryBudget against redis-server', () => {
  let redis: RedisServer;
  const clients: RespClient[] = [];
  const client = (offlineQueue = false): RespClient => {
    const c = connect(redis.port, { offlineQueue });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await redis.stop();
  });
  beforeEach(async () => {
    await redis.command('FLUSHALL');
  });

  it('the script and its memory twin make the same decisions, and every key has the prefix and an expiry', async () => {
    const ops = { budget: budgetOp } as unknown as ScriptOps;
    const backends: StoreBackend[] = [redisBackend(client().send, 'bw-test:', ops), memoryBackend(ops, undefined, 'bw-test:')];
    // An hour's window and ttl: both clocks stay in one bucket, and no instance expires.
    const base = { ratio: 0.5, floor: 3, window: 3_600_000, ttl: 3_600_000, leave: false };
    const steps: BudgetRequest[] = [
      { ...base, instance: 'a', firsts: 10, retries: 0 }, // alone: the whole 0.5 × 10 + 3
      { ...base, instance: 'b', firsts: 0, retries: 0 }, // a holds it all: nothing free
      { ...base, instance: 'a', firsts: 2, retries: 4 }, // a spent 4: 5 left, b holds 0
      { ...base, instance: 'c', firsts: 1, retries: 0 }, // a share of a third, a and b holding theirs
      { ...base, instance: 'b', firsts: 0, retries: 0 },
      { ...base, instance: 'c', firsts: 0, retries: 2, leave: true }, // c leaves with its last counts
      { ...base, instance: 'b', firsts: 0, retries: 1 },
      { ...base, instance: 'a', firsts: 0, retries: 0 },
    ];
    const replies: unknown[][] = [[], []];
    for (const step of steps) {
      for (const [i, backend] of backends.entries()) replies[i]!.push(await backend.budget('pay', step));
    }
    expect(replies[0]).toEqual(replies[1]);
    expect(replies[0]!.slice(0, 3)).toEqual([
      { grant: 8, firstAttempts: 10, retries: 0, instances: 1 },
      { grant: 0, firstAttempts: 10, retries: 0, instances: 2 },
      { grant: 2.5, firstAttempts: 12, retries: 4, instances: 2 }, // 0.5 × 12 + 3 − 4 = 5 left, one half each
    ]);
    const keys = (await redis.command('KEYS', '*')) as string[];
    expect(keys.sort()).toEqual(['bw-test:{pay}:budget', 'bw-test:{pay}:budget:instances']);
    for (const key of keys) expect(await redis.command('PTTL', key)).toBeGreaterThan(0);
  });

  it('the script and its memory twin agree on a grant of more digits than Lua’s tostring keeps', async () => {
    const ops = { budget: budgetOp } as unknown as ScriptOps;
    const backends: StoreBackend[] = [redisBackend(client().send, 'bw-test:', ops), memoryBackend(ops, undefined, 'bw-test:')];
    // A floor of 16 significant digits (a huge window, or a high minRetriesPerSecond): the grant has as many.
    const base = { ratio: 0.3, floor: 1_234_567_890.123456, window: 3_600_000, ttl: 3_600_000, leave: false };
    const steps: BudgetRequest[] = [
      { ...base, instance: 'a', firsts: 7, retries: 0 }, // alone: the whole allowance
      { ...base, instance: 'b', firsts: 0, retries: 0 }, // what a holds, read back from the store, decides b's
      { ...base, instance: 'a', firsts: 1, retries: 3 }, // half each now
      { ...base, instance: 'b', firsts: 0, retries: 1 },
    ];
    const replies: { grant: number }[][] = [[], []];
    for (const step of steps) {
      for (const [i, backend] of backends.entries()) replies[i]!.push(await backend.budget('big', step));
    }
    expect(replies[0]).toEqual(replies[1]);
    expect(replies[1]![0]!.grant).toBe(Math.floor((0.3 * 7 + base.floor) * 1_000_000) / 1_000_000);
    expect(replies[1]![2]!.grant).toBeGreaterThan(6e8);
    expect(replies[1]![3]!.grant).toBeGreaterThan(6e8);
  });

  it('budgets on separate connections share one floor', async () => {
    const options = { ratio: 0, minRetriesPerSecond: 10, window: 1_000, key: 'floor' }; // 10 per window for the fleet
    const budgets = [0, 1, 2].map(() => new RetryBudget({ ...options, store: createRedisStore({ send: client().send, timeout: 500 }) }));
    for (const b of budgets) b.onFirstAttempt();
    await until('every budget synced', () => budgets.every((b) => b.stats().fleet !== undefined));
    let allowed = 0;
    for (let round = 0; round < 6; round++) {
      for (const b of budgets) {
        b.onFirstAttempt(); // keeps it in use
        allowed += spend(b);
      }
      await sleep(100);
    }
    expect(allowed).toBe(10);
    expect(budgets[0]!.stats().fleet).toMatchObject({ retries: 10, instances: 3 });
    // Three budgets without the store would have allowed 30.
  });

  it('goes local when the server dies, says so once, and shares again once it is back', async () => {
    const options = { ratio: 0, minRetriesPerSecond: 10, window: 1_000, key: 'outage' };
    // Clients that queue while disconnected, as ioredis does: the store's timeout bounds them.
    const budgets = [0, 1].map(() => new RetryBudget({ ...options, store: createRedisStore({ send: client(true).send }) }));
    const events: string[][] = [[], []];
    budgets.forEach((b, i) => {
      b.on('storeError', () => events[i]!.push('storeError'));
      b.on('storeRecovered', () => events[i]!.push('storeRecovered'));
    });
    const keepUsing = setInterval(() => budgets.forEach((b) => b.onFirstAttempt()), 20);
    try {
      budgets.forEach((b) => b.onFirstAttempt());
      await until('both synced', () => budgets.every((b) => b.stats().fleet !== undefined));
      expect(budgets.reduce((n, b) => n + spend(b), 0)).toBe(10);

      await redis.kill9();
      await until('both local', () => budgets.every((b) => b.stats().fleet === undefined));
      expect(events).toEqual([['storeError'], ['storeError']]);
      // On their own counts, without waiting on the store: each has its own floor of 10, less what it spent.
      const started = performance.now();
      const local = budgets.reduce((n, b) => n + spend(b), 0);
      expect(performance.now() - started).toBeLessThan(50);
      expect(local).toBe(10);
      await sleep(300); // more syncs fail at once while the store is down: still one storeError each
      expect(events).toEqual([['storeError'], ['storeError']]);

      await redis.restart();
      await until('both shared again', () => budgets.every((b) => b.stats().fleet?.instances === 2), 5_000);
      expect(events).toEqual([
        ['storeError', 'storeRecovered'],
        ['storeError', 'storeRecovered'],
      ]);
      // The restarted server lost its counts: one fresh floor for both together.
      await sleep(150);
      expect(budgets.reduce((n, b) => n + spend(b), 0)).toBeLessThanOrEqual(10);
    } finally {
      clearInterval(keepUsing);
    }
    // Idle: each leaves the fleet; what is left expires.
    await sleep(400);
    for (const key of (await redis.command('KEYS', '*')) as string[]) {
      expect(key.startsWith('breakwater:{outage}')).toBe(true);
      expect(await redis.command('PTTL', key)).toBeGreaterThan(0);
    }
  });
});
