// The overload simulation of `npm run overload` (examples/overload), the same
// code on the same discrete-event clock, with shorter runs and looser bounds:
// it must stay quick, and a small change of a constant must not flip it.
import { describe, expect, it } from 'vitest';
import { simulate, type Bounds } from '../examples/overload/report.js';
import { DEFAULT_SETUP } from '../examples/overload/scenario.js';

const LOOSER: Bounds = { goodput: 0.8, p99: 3.5, bulkheadP99: 3.5, growth: 1.3, settle: 7_000, throttle: 0.3 };

describe('the overload simulation', { timeout: 30_000 }, () => {
  it('meets every target, loosened: adaptive limits keep goodput and latency, fixed ones and no limit do not', async () => {
    const report = await simulate(LOOSER, { ...DEFAULT_SETUP, duration: 12_000 }, [0.5, 2, 5]);
    const failed = report.checks.filter((c) => !c.pass).map((c) => `${c.name}: ${c.measured}`);
    expect(failed).toEqual([]);
    // 2 loads × (3 algorithms × 2 + no limit + Bulkhead(4C)) + 3 halvings + the throttle
    expect(report.checks).toHaveLength(2 * 8 + 3 + 1);
    expect(report.unloaded).toBeGreaterThan(90);
    expect(report.unloaded).toBeLessThan(110);
  });

  it('prints the same figures every run (seeded, simulated time)', async () => {
    const setup = { ...DEFAULT_SETUP, duration: 5_000, warmup: 1_000 };
    const a = await simulate(LOOSER, setup, [2]);
    const b = await simulate(LOOSER, setup, [2]);
    expect(a.rows.map((r) => [r.goodput, r.p99, r.shed])).toEqual(b.rows.map((r) => [r.goodput, r.p99, r.shed]));
  });
});
