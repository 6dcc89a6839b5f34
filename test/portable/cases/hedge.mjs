// hedge, RetryBudget and chaos on real short timers.
import { assert, delay, describe, never, test, trackedController } from '../harness.mjs';

export function register(bw) {
  const { hedge, RetryBudget, retryWithBackoff, chaos, wrap, withTimeout } = bw;

  describe('hedge', () => {
    test('starts another attempt after delay; the first answer wins and the loser is aborted', async () => {
      const hedged = hedge({ delay: 5, maxHedges: 1 });
      const seen = [];
      hedged.on('hedge', (e) => seen.push(e));
      const signals = [];
      const value = await hedged.execute((ctx) => {
        signals.push(ctx.signal);
        return signals.length === 1 ? never() : `attempt ${signals.length}`;
      });
      assert.equal(value, 'attempt 2');
      assert.deepEqual(seen, [{ attempt: 2, delay: 5 }]);
      assert.equal(signals[0].aborted, true, 'the slow attempt was not aborted');
      assert.equal(signals[1].aborted, false);
    });

    test('an answer before delay starts no hedge and leaves no timer', async () => {
      let calls = 0;
      assert.equal(await hedge({ delay: 1_000 }).execute(() => ++calls), 1);
      await delay(2);
      assert.equal(calls, 1);
    });

    test('a failed attempt starts the next one at once; when all fail the last failure is rethrown', async () => {
      let calls = 0;
      const value = await hedge({ delay: 60_000, maxHedges: 2 }).execute(() => {
        calls++;
        if (calls === 1) throw new Error('first failed');
        return 'second';
      });
      assert.equal(value, 'second');
      assert.equal(calls, 2);
      let started = 0;
      const error = await assert.rejects(
        hedge({ delay: 60_000, maxHedges: 2 }).execute(() => Promise.reject(new Error(`attempt ${++started}`))),
        Error,
      );
      assert.equal(error.message, 'attempt 3');
    });

    test("the caller's abort stops every attempt and rejects with its reason", async () => {
      const caller = trackedController();
      const signals = [];
      const pending = hedge({ delay: 2, maxHedges: 2 }).execute((ctx) => {
        signals.push(ctx.signal);
        return never();
      }, caller.signal);
      while (signals.length < 3) await delay(1); // both hedges started
      const reason = new Error('cancelled');
      caller.abort(reason);
      assert.equal(await assert.rejects(pending, Error), reason);
      assert.equal(signals.length, 3);
      assert.ok(signals.every((s) => s.aborted), 'an attempt was left running');
      assert.equal(caller.listeners(), 0);
    });

    test('rejects invalid options when created', () => {
      assert.throws(() => hedge({}), TypeError, 'delay');
      assert.throws(() => hedge({ delay: -1 }), RangeError, 'delay');
      assert.throws(() => hedge({ delay: 1, maxHedges: -1 }), RangeError, 'maxHedges');
    });
  });

  describe('RetryBudget', () => {
    test('refuses retries beyond its allowance, shared by every policy that holds it', async () => {
      const budget = new RetryBudget({ ratio: 0, minRetriesPerSecond: 1, window: 1_000 });
      const a = retryWithBackoff({ maxRetries: 5, initialDelay: 1, budget });
      const b = retryWithBackoff({ maxRetries: 5, initialDelay: 1, budget });
      const reasons = [];
      for (const p of [a, b]) p.on('giveUp', (e) => reasons.push(e.reason));
      let calls = 0;
      const down = () => {
        calls++;
        throw new Error('down');
      };
      await assert.rejects(a.execute(down), Error);
      assert.equal(calls, 2, 'the floor allows one retry in the window');
      await assert.rejects(b.execute(down), Error);
      assert.equal(calls, 3, 'the other policy shares the spent budget');
      assert.deepEqual(reasons, ['budget', 'budget']);
      const stats = budget.stats();
      assert.equal(stats.firstAttempts, 2);
      assert.equal(stats.retries, 1);
      assert.equal(stats.refused, 2);
    });

    test('rejects invalid options when created', () => {
      assert.throws(() => new RetryBudget({ ratio: -0.1 }), RangeError, 'ratio');
      assert.throws(() => new RetryBudget({ window: 0 }), RangeError, 'window');
    });
  });

  describe('chaos', () => {
    test('the same seed injects the same faults', async () => {
      const pattern = async () => {
        const policy = chaos({ faultRate: 0.5, seed: 42 });
        const out = [];
        for (let i = 0; i < 32; i++) out.push(await policy.execute(() => 'ok').catch(() => 'fault'));
        return out.join(',');
      };
      const first = await pattern();
      assert.equal(await pattern(), first);
      assert.ok(first.includes('fault') && first.includes('ok'), `rate 0.5 gave ${first}`);
    });

    test('injects a given error or result without calling fn; disabled, it passes through', async () => {
      const boom = new Error('injected');
      let calls = 0;
      const fn = () => ++calls;
      const faults = chaos({ error: boom });
      const seen = [];
      faults.on('fault', (e) => seen.push(e.error));
      assert.equal(await assert.rejects(faults.execute(fn), Error), boom);
      assert.deepEqual(seen, [boom]);
      assert.equal(await chaos({ result: 'canned' }).execute(fn), 'canned');
      assert.equal(calls, 0);
      assert.equal(await chaos({ error: boom, enabled: false }).execute(fn), 1);
    });

    test('injected latency delays the call and ends at once when an outer timeout aborts', async () => {
      assert.equal(await chaos({ latency: 3 }).execute(() => 'late'), 'late');
      let called = false;
      await assert.rejects(wrap(withTimeout(5), chaos({ latency: 60_000 })).execute(() => (called = true)), 'TimeoutError');
      assert.equal(called, false);
    });

    test('rejects invalid options when created', () => {
      assert.throws(() => chaos({ faultRate: 2 }), RangeError, 'faultRate');
      assert.throws(() => chaos({ seed: 'x' }), TypeError, 'seed');
    });
  });
}
