/**
 * A small seeded PRNG (mulberry32) for deterministic tests: pass it as a
 * policy's `random` option so jitter and chaos draws repeat run after run.
 *
 * @example
 * ```ts
 * import { seeded } from '../test/helpers/prng.js';
 *
 * const random = seeded(42);
 * random(); // always the same first draw, in [0, 1)
 * ```
 */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A `random` that returns the given draws in turn, then repeats the last one. */
export function sequence(...draws: readonly number[]): () => number {
  let i = 0;
  return () => draws[Math.min(i++, draws.length - 1)] ?? 0;
}
