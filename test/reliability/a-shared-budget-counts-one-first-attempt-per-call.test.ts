// Failure mode: two policies of one pipeline share a RetryBudget (a retry
// around a hedge, the README's own example), and each tells it of a first
// attempt: 100 calls count as 200, the budget allows twice the retries its
// ratio says, and against a dead service a fleet sends 140% of its load where
// ratio 0.2 means 120%. One call is one first attempt, however many policies share the budget.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { hedge, RetryBudget, retryWithBackoff, withTimeout, wrap, type Policy, type PolicyContext } from '../../src/index.js';

beforeEach(() => void vi.useFakeTimers());
afterEach(() => {
  expect(vi.getTimerCount()).toBe(0);
  vi.useRealTimers();
});

const CALLS = 100;
const dead = (attempts: { n: number }) => (): Promise<never> => {
  attempts.n++;
  return Promise.reject(new Error('down'));
};
const fine = (): string => 'ok';

async function run(policy: Policy, fn: (ctx: PolicyContext) => unknown): Promise<void> {
  for (let i = 0; i < CALLS; i++) {
    const call = policy.execute(fn).catch(() => undefined);
    await vi.runAllTimersAsync();
    await call;
  }
}

/** A user's own policy that just runs fn with the signal it was given. */
const passThrough: Policy = { execute: (fn, signal) => Promise.resolve(fn({ signal: signal!, attempt: 1 })) };

describe('a RetryBudget shared by nested policies', () => {
  it('counts one first attempt per call for a retry around a hedge', async () => {
    const budget = new RetryBudget({ ratio: 0.2, minRetriesPerSecond: 0, window: 60_000 });
    await run(wrap(retryWithBackoff({ budget }), hedge({ delay: 10, budget })), fine);
    expect(budget.stats().firstAttempts).toBe(CALLS);
  });

  it('holds a dead service to 1 + ratio times the calls: 120 attempts for 100 calls at ratio 0.2', async () => {
    const budget = new RetryBudget({ ratio: 0.2, minRetriesPerSecond: 0, window: 600_000 });
    const attempts = { n: 0 };
    await run(wrap(retryWithBackoff({ maxRetries: 3, initialDelay: 1, budget }), hedge({ delay: 10, budget })), dead(attempts));
    expect(budget.stats().firstAttempts).toBe(CALLS);
    expect(attempts.n).toBe(CALLS * 1.2);
  });

  const nestings: [string, (budget: RetryBudget) => Policy][] = [
    ['a hedge around a retry', (budget) => wrap(hedge({ delay: 10, budget }), retryWithBackoff({ initialDelay: 1, budget }))],
    ['a retry inside a retry', (budget) => wrap(retryWithBackoff({ initialDelay: 1, budget }), retryWithBackoff({ initialDelay: 1, budget }))],
    ['a retry and a hedge with a per-attempt timeout between them', (budget) => wrap(retryWithBackoff({ initialDelay: 1, budget }), withTimeout(1_000), hedge({ delay: 10, budget }))],
    ["a retry and a hedge with a user's own policy between them", (budget) => wrap(retryWithBackoff({ initialDelay: 1, budget }), passThrough, hedge({ delay: 10, budget }))],
  ];
  it.each(nestings)('counts one first attempt per call for %s, failing or not', async (_name, make) => {
    const healthy = new RetryBudget({ ratio: 0.2, minRetriesPerSecond: 0, window: 600_000 });
    await run(make(healthy), fine);
    expect(healthy.stats().firstAttempts).toBe(CALLS);

    const sick = new RetryBudget({ ratio: 0.2, minRetriesPerSecond: 0, window: 600_000 });
    const attempts = { n: 0 };
    await run(make(sick), dead(attempts));
    expect(sick.stats().firstAttempts).toBe(CALLS);
    expect(attempts.n).toBeLessThanOrEqual(CALLS * 1.2);
  });

  it('still counts the call once in each of two different budgets', async () => {
    const outer = new RetryBudget({ minRetriesPerSecond: 0 });
    const inner = new RetryBudget({ minRetriesPerSecond: 0 });
    const shared = new RetryBudget({ minRetriesPerSecond: 0 });
    const policy = wrap(
      retryWithBackoff({ budget: outer }),
      hedge({ delay: 10, budget: shared }),
      retryWithBackoff({ budget: inner }),
      retryWithBackoff({ budget: shared }),
    );
    await run(policy, fine);
    expect([outer, inner, shared].map((b) => b.stats().firstAttempts)).toEqual([CALLS, CALLS, CALLS]);
  });
});
