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
export { seededRandom as seeded } from '../../src/internal/random.js';

/** A `random` that returns the given draws in turn, then repeats the last one. */
export function sequence(...draws: readonly number[]): () => number {
  let i = 0;
  return () => draws[Math.min(i++, draws.length - 1)] ?? 0;
}
