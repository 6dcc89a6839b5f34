/**
 * A seeded pseudo-random source, uniform in [0, 1): mulberry32, a 32-bit
 * generator that is fast, small and good enough for fault injection and
 * jitter in tests (not for anything secret). The same seed gives the same sequence.
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
