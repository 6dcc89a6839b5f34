import { describe, expect, it } from 'vitest';
import { cjs, lib } from './dist.js';

const foundation = [
  'wrap',
  'retryWithBackoff',
  'withTimeout',
  'withFallback',
  'ResilienceError',
  'BrokenCircuitError',
  'IsolatedCircuitError',
  'BulkheadRejectedError',
  'TimeoutError',
] as const;

describe('the built package', () => {
  it('exports the foundation from the ESM entry', () => {
    for (const name of foundation) expect(typeof lib[name], name).toBe('function');
  });

  it('exports the same names from the CommonJS entry', () => {
    expect(Object.keys(cjs).sort()).toEqual(Object.keys(lib).sort());
    for (const name of foundation) expect(typeof cjs[name], name).toBe('function');
  });

  it('the two entries are separate copies, yet their errors are told apart by name', async () => {
    expect(cjs.BrokenCircuitError).not.toBe(lib.BrokenCircuitError);
    // A breaker from the CommonJS copy sheds load; the ESM retry must not retry it.
    let calls = 0;
    const shed = new cjs.BrokenCircuitError('open');
    await expect(
      lib.retryWithBackoff({ initialDelay: 0 }).execute(() => {
        calls++;
        throw shed;
      }),
    ).rejects.toBe(shed);
    expect(calls).toBe(1);
  });

  it("a policy from the other copy composes in wrap as a user's own Policy", async () => {
    let calls = 0;
    const pipeline = lib.wrap(lib.withFallback('fallback'), cjs.retryWithBackoff({ maxRetries: 2, initialDelay: 0 }));
    await expect(
      pipeline.execute(() => {
        calls++;
        throw new Error('down');
      }),
    ).resolves.toBe('fallback');
    expect(calls).toBe(3);
  });
});
