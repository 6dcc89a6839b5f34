// The Redis backend's own logic with a fake `send` (no server): the rate
// limiter's calls of one tick batched into one script, the reply split back in
// call order, failures shared by the batch. Against a real redis-server:
// test/fleet/redis-store.test.ts and test/fleet/rate-limiter.test.ts.
import { describe, expect, it } from 'vitest';
import { redisBackend } from './redis.js';
import type { RateLimitRequest } from './rate-limit-op.js';

const SHA = 'a'.repeat(40);

/** A fake client: records every command; `answer(args)` gives each script's reply. */
function fakeSend(answer: (args: string[]) => unknown) {
  const sent: { command: string; args: string[] }[] = [];
  const send = (command: string, args: string[]): Promise<unknown> => {
    sent.push({ command, args });
    if (command === 'SCRIPT') return Promise.resolve(SHA);
    try {
      return Promise.resolve(answer(args));
    } catch (error) {
      return Promise.reject(error);
    }
  };
  const scripts = () => sent.filter((s) => s.command === 'EVAL' || s.command === 'EVALSHA');
  return { send, sent, scripts };
}

const plain: RateLimitRequest = { limit: 10, interval: 1_000, maxWait: 500, instance: '', window: 10_000 };
const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('redisBackend: the rate limiter in batches', () => {
  it("sends the calls of one tick for one key and request as one script, and gives each its decision in call order", async () => {
    const fake = fakeSend(() => [7, -3, -4]);
    const backend = redisBackend(fake.send, 'p:');
    const replies = await Promise.all([backend.rateLimit('k', plain), backend.rateLimit('k', plain), backend.rateLimit('k', plain)]);
    expect(replies).toEqual([
      { admitted: true, wait: 0, remaining: 7, instances: 0 },
      { admitted: true, wait: 1, remaining: 0, instances: 0 },
      { admitted: false, wait: 2, remaining: 0, instances: 0 },
    ]);
    const scripts = fake.scripts();
    expect(scripts).toHaveLength(1);
    // numkeys, KEYS, ARGV as one call would send them, and the count.
    expect(scripts[0]!.args.slice(1)).toEqual(['2', 'p:{k}', 'p:{k}:i', '10', '1000000', '500000', '', '10000', '3']);
  });

  it('sends one call alone without a count, and reads its one-number reply', async () => {
    const fake = fakeSend(() => 9);
    const backend = redisBackend(fake.send, 'p:');
    expect(await backend.rateLimit('k', plain)).toEqual({ admitted: true, wait: 0, remaining: 9, instances: 0 });
    expect(fake.scripts()[0]!.args.slice(1)).toEqual(['2', 'p:{k}', 'p:{k}:i', '10', '1000000', '500000', '', '10000']);
  });

  it('reads the heartbeat count ahead of the decisions', async () => {
    const fake = fakeSend(() => ['3', '-1', '-10']);
    const backend = redisBackend(fake.send, 'p:');
    const beat = { ...plain, instance: 'me' };
    const replies = await Promise.all([backend.rateLimit('k', beat), backend.rateLimit('k', beat)]);
    expect(replies).toEqual([
      { admitted: true, wait: 0, remaining: 0, instances: 3 },
      { admitted: false, wait: 5, remaining: 0, instances: 3 },
    ]);
  });

  it('keeps calls of later ticks, other keys and other requests in scripts of their own', async () => {
    const fake = fakeSend((args) => (args.length > 9 ? Array.from({ length: Number(args[9]) }, () => 1) : 1));
    const backend = redisBackend(fake.send, 'p:');
    const other = { ...plain };
    const elsewhere = { ...plain };
    await Promise.all([backend.rateLimit('k', plain), backend.rateLimit('k', other), backend.rateLimit('k', plain), backend.rateLimit('x', elsewhere)]);
    await backend.rateLimit('k', plain);
    const scripts = fake.scripts().map((s) => [s.args[2], s.args[9] ?? '1']);
    expect(scripts).toEqual([
      ['p:{k}', '2'],
      ['p:{k}', '1'],
      ['p:{x}', '1'],
      ['p:{k}', '1'],
    ]);
  });

  it('sends at most 256 decisions in one script', async () => {
    const fake = fakeSend((args) => (args.length > 9 ? Array.from({ length: Number(args[9]) }, () => 1) : 1));
    const backend = redisBackend(fake.send, 'p:');
    const replies = await Promise.all(Array.from({ length: 600 }, () => backend.rateLimit('k', plain)));
    expect(replies.every((r) => r.admitted)).toBe(true);
    expect(fake.scripts().map((s) => s.args[9])).toEqual(['256', '256', '88']);
  });

  it('rejects every call of a batch with the error of its script, or a TypeError for a reply it cannot read', async () => {
    const error = new Error('READONLY');
    let fail = true;
    const fake = fakeSend(() => {
      if (fail) throw error;
      return [1, 2];
    });
    const backend = redisBackend(fake.send, 'p:');
    const failed = await Promise.allSettled([backend.rateLimit('k', plain), backend.rateLimit('k', plain)]);
    expect(failed).toEqual([
      { status: 'rejected', reason: error },
      { status: 'rejected', reason: error },
    ]);
    fail = false;
    // Two numbers for three calls.
    const unread = await Promise.allSettled([1, 2, 3].map(() => backend.rateLimit('k', plain)));
    expect(unread.map((s) => s.status)).toEqual(['rejected', 'rejected', 'rejected']);
    for (const s of unread) expect((s as PromiseRejectedResult).reason).toBeInstanceOf(TypeError);
    await flush();
  });

  it('answers NOSCRIPT with EVAL of the same arguments, count included', async () => {
    const fake = fakeSend((args) => {
      if (args[0] === SHA) throw new Error('NOSCRIPT No matching script');
      return args.length > 9 ? [1, 1] : 1;
    });
    const backend = redisBackend(fake.send, 'p:');
    await backend.rateLimit('k', plain); // learns the hash
    await flush();
    const replies = await Promise.all([backend.rateLimit('k', plain), backend.rateLimit('k', plain)]);
    expect(replies.map((r) => r.admitted)).toEqual([true, true]);
    const last = fake.scripts().slice(-2);
    expect(last.map((s) => s.command)).toEqual(['EVALSHA', 'EVAL']);
    expect(last[1]!.args.slice(1)).toEqual(last[0]!.args.slice(1));
  });

  it('answers NOSCRIPT resolved as an Error value (a client that resolves error replies) with EVAL too', async () => {
    const fake = fakeSend((args) => (args[0] === SHA ? new Error('NOSCRIPT No matching script') : 1));
    const backend = redisBackend(fake.send, 'p:');
    await backend.rateLimit('k', plain); // learns the hash
    await flush();
    expect(await backend.rateLimit('k', plain)).toEqual({ admitted: true, wait: 0, remaining: 1, instances: 0 });
    expect(fake.scripts().slice(-2).map((s) => s.command)).toEqual(['EVALSHA', 'EVAL']);
    // Another error resolved as a value is the command's failure: the call rejects with it.
    const wrong = fakeSend((args) => (args[0] === SHA ? new Error('WRONGTYPE') : 1));
    const other = redisBackend(wrong.send, 'p:');
    await other.rateLimit('k', plain);
    await flush();
    await expect(other.rateLimit('k', plain)).rejects.toThrow('WRONGTYPE');
  });

  it('a SCRIPT LOAD answered with an Error value (or garbage) is no unhandled rejection; it is asked again later, EVAL meanwhile', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      let loads = 0;
      const answers: unknown[] = [new Error('ERR busy'), [new Error('nested')], SHA];
      const send = (command: string): Promise<unknown> => (command === 'SCRIPT' ? Promise.resolve(answers[loads++]) : Promise.resolve(1));
      const commands: string[] = [];
      const backend = redisBackend((command, args) => (commands.push(command), send(command)), 'p:');
      for (let i = 0; i < 4; i++) {
        expect((await backend.rateLimit('k', plain)).admitted).toBe(true);
        await flush();
      }
      await new Promise((resolve) => setTimeout(resolve, 20)); // let Node report unhandled rejections
      expect(unhandled).toEqual([]);
      expect(commands).toEqual(['SCRIPT', 'EVAL', 'SCRIPT', 'EVAL', 'SCRIPT', 'EVAL', 'EVALSHA']);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('leaves an op of its own (not the built-in GCRA) one script per call', async () => {
    const fake = fakeSend(() => 'x');
    const op = { lua: 'return 1', keys: [''], args: () => ['a'], reply: (raw: unknown) => raw, memory: () => 'x' };
    const backend = redisBackend(fake.send, 'p:', { rateLimit: op as never, breaker: op as never, budget: op as never });
    await Promise.all([backend.rateLimit('k', plain), backend.rateLimit('k', plain)]);
    expect(fake.scripts()).toHaveLength(2);
  });
});
