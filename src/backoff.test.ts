import { describe, expect, it } from 'vitest';
import { seeded } from '../test/helpers/prng.js';
import { backoffDelay, type BackoffSchedule, type Jitter } from './backoff.js';

const DRAWS = 2_000;

function schedule(jitter: Jitter, overrides: Partial<BackoffSchedule> = {}): BackoffSchedule {
  return { firstDelay: 100, growth: 2, delayCap: 30_000, spread: jitter, draw: seeded(7), ...overrides };
}

/** Draws many delays for retry `n` and checks they stay in [low, high] and cover the range. */
function expectSpread(draws: readonly number[], low: number, high: number): void {
  const min = Math.min(...draws);
  const max = Math.max(...draws);
  const mean = draws.reduce((a, b) => a + b, 0) / draws.length;
  expect(min).toBeGreaterThanOrEqual(low);
  expect(max).toBeLessThanOrEqual(high);
  // A uniform draw covers its whole range: not stuck at one end, centred in the middle.
  const width = high - low;
  expect(min - low).toBeLessThan(width * 0.02);
  expect(high - max).toBeLessThan(width * 0.02);
  expect(Math.abs(mean - (low + high) / 2)).toBeLessThan(width * 0.05);
}

describe('backoffDelay', () => {
  it("'none' follows initialDelay * multiplier^(n-1) exactly, capped at maxDelay", () => {
    const s = schedule('none', { firstDelay: 100, growth: 3, delayCap: 5_000 });
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(s, n, 0))).toEqual([100, 300, 900, 2_700, 5_000, 5_000]);
  });

  it("'none' with multiplier 1 is a constant delay", () => {
    const s = schedule('none', { firstDelay: 250, growth: 1 });
    expect([1, 2, 10].map((n) => backoffDelay(s, n, 0))).toEqual([250, 250, 250]);
  });

  it('never exceeds a finite maxDelay, even after very many retries', () => {
    for (const jitter of ['none', 'full', 'equal', 'decorrelated'] as const) {
      const s = schedule(jitter, { delayCap: 1_000 });
      let previous = s.firstDelay;
      let max = 0;
      for (let n = 1; n <= 2_000; n++) {
        previous = backoffDelay(s, n, previous);
        max = Math.max(max, previous);
      }
      expect(max).toBeLessThanOrEqual(1_000);
      expect(max).toBeGreaterThan(0);
    }
  });

  for (const n of [1, 3, 6]) {
    const d = Math.min(100 * 2 ** (n - 1), 30_000);

    it(`'full' draws uniformly in [0, d] for retry ${n} (d = ${d}) over ${DRAWS} seeded draws`, () => {
      const s = schedule('full', { draw: seeded(n) });
      expectSpread(Array.from({ length: DRAWS }, () => backoffDelay(s, n, 0)), 0, d);
    });

    it(`'equal' draws uniformly in [d/2, d] for retry ${n} (d = ${d}) over ${DRAWS} seeded draws`, () => {
      const s = schedule('equal', { draw: seeded(100 + n) });
      expectSpread(Array.from({ length: DRAWS }, () => backoffDelay(s, n, 0)), d / 2, d);
    });
  }

  it("'full' and 'equal' jitter stay within a maxDelay that caps d", () => {
    for (const jitter of ['full', 'equal'] as const) {
      const s = schedule(jitter, { delayCap: 500, draw: seeded(3) });
      const draws = Array.from({ length: DRAWS }, () => backoffDelay(s, 8, 0));
      expect(Math.max(...draws)).toBeLessThanOrEqual(500);
      expect(Math.min(...draws)).toBeGreaterThanOrEqual(jitter === 'equal' ? 250 : 0);
    }
  });

  for (const previous of [100, 400, 2_000]) {
    it(`'decorrelated' draws uniformly in [initialDelay, 3 × previous] (previous = ${previous})`, () => {
      const s = schedule('decorrelated', { draw: seeded(previous) });
      expectSpread(
        Array.from({ length: DRAWS }, () => backoffDelay(s, 2, previous)),
        100,
        3 * previous,
      );
    });
  }

  it("'decorrelated' is capped at maxDelay and never below initialDelay along a whole chain", () => {
    const s = schedule('decorrelated', { delayCap: 2_000, draw: seeded(11) });
    let previous = s.firstDelay;
    const draws: number[] = [];
    for (let n = 1; n <= DRAWS; n++) draws.push((previous = backoffDelay(s, n, previous)));
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(100);
    expect(Math.max(...draws)).toBeLessThanOrEqual(2_000);
    expect(Math.max(...draws)).toBeGreaterThan(1_900);
  });

  it("'decorrelated' with a tiny previous delay stays at initialDelay (the range never inverts)", () => {
    const s = schedule('decorrelated', { draw: () => 0.99 });
    expect(backoffDelay(s, 2, 10)).toBe(100);
  });

  it('uses the random source it is given: the same seed gives the same delays', () => {
    const a = schedule('full', { draw: seeded(42) });
    const b = schedule('full', { draw: seeded(42) });
    const draw = (s: BackoffSchedule): number[] => [1, 2, 3, 4].map((n) => backoffDelay(s, n, 0));
    expect(draw(a)).toEqual(draw(b));
  });

  it('with an unbounded maxDelay, a huge retry number gives Infinity for none, never NaN', () => {
    const s = schedule('none', { delayCap: Infinity });
    expect(backoffDelay(s, 5_000, 0)).toBe(Infinity);
    const full = schedule('full', { delayCap: Infinity, draw: () => 0.5 });
    expect(Number.isNaN(backoffDelay(full, 5_000, 0))).toBe(false);
  });
});
