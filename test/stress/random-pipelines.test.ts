// Random pipelines of every policy, in random order with random options,
// driven by random faults: errors, slow calls, hangs, aborts, clock jumps.
// A fixed set of seeds runs in CI; `npm run stress` runs many more.
// A failure names its seed: STRESS_SEED=<seed> npx vitest run test/stress reruns exactly that run.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Policy, PolicyContext } from '../../src/index.js';
import type { Ctx, Next } from '../../src/internal/context.js';
import { PolicyBase } from '../../src/policy.js';
import { runScenario } from './harness.js';

const CI_SEEDS = [1, 2, 3, 4, 5, 6, 7, 8, 42, 1337, 20_260_101, 987_654_321];
const CALLS = Number(process.env.STRESS_CALLS ?? 1_000);

function seeds(): number[] {
  if (process.env.STRESS_SEED !== undefined) return [Number(process.env.STRESS_SEED)];
  const runs = Number(process.env.STRESS_RUNS ?? 0);
  if (runs > 0) {
    const base = Number(process.env.STRESS_BASE ?? Date.now() % 1e9);
    return Array.from({ length: runs }, (_, i) => base + i);
  }
  return CI_SEEDS;
}

describe('random pipelines under random faults', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  for (const seed of seeds()) {
    it(`seed ${seed}: every invariant holds over ${CALLS} calls`, async () => {
      const report = await runScenario(seed, CALLS);
      if (report.violations.length > 0) {
        console.error(`stress seed ${seed} failed (rerun: STRESS_SEED=${seed} npx vitest run test/stress)\n${report.pipeline}\n${report.violations.join('\n')}`);
      }
      expect(report.violations, `seed ${seed}: ${report.pipeline}`).toEqual([]);
      // The run did go through failures and successes, not just one path.
      const total = Object.values(report.outcomes).reduce((a, b) => a + b, 0);
      expect(total).toBe(CALLS);
    }, 60_000);
  }

});

describe('the stress checks themselves', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  // A deliberately broken policy added to a random pipeline must be caught.
  const broken: Record<string, { policy: () => Policy<unknown>; caught: RegExp; at?: 'innermost' }> = {
    'leaves an abort listener on the caller signal': {
      policy: () => ({
        execute: (fn, signal) => {
          signal?.addEventListener('abort', () => {});
          return Promise.resolve(fn({ signal } as PolicyContext));
        },
      }),
      caught: /listener/,
    },
    'rejects with a reason of its own': {
      policy: () => {
        let n = 0;
        return {
          execute: (fn, signal) =>
            ++n % 50 === 0 ? Promise.reject(new DOMException('lost', 'AbortError')) : Promise.resolve(fn({ signal } as PolicyContext)),
        };
      },
      caught: /foreign reason: AbortError/,
    },
    "starts an attempt after the caller's abort": {
      // A stage of breakwater's own kind (a user's policy in wrap can no longer start one: the
      // stage around it refuses to run fn once the call is aborted), waiting out an abort.
      policy: () =>
        new (class extends PolicyBase {
          run(ctx: Ctx, next: Next): Promise<unknown> {
            return new Promise((resolve) => setTimeout(resolve, 50)).then(() => next(ctx));
          }
        })('', 'late'),
      caught: /started (after the caller aborted|with its signal already aborted)/,
      at: 'innermost',
    },
    'leaves a timer behind': {
      policy: () => ({
        execute: (fn, signal) => {
          setTimeout(() => {}, 60_000);
          return Promise.resolve(fn({ signal } as PolicyContext));
        },
      }),
      caught: /timer\(s\) left/,
    },
  };
  for (const [what, { policy, caught, at }] of Object.entries(broken)) {
    it(`catches a policy that ${what}`, async () => {
      const report = await runScenario(7, 300, { inject: policy(), ...(at ? { at } : {}) });
      expect(report.violations.join('\n')).toMatch(caught);
    });
  }
});
