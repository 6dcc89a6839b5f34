// A store engine whose every operation (ping too) goes through a gate: the fleet tests' way to make a
// store slow, failing, hung or flapping without touching the engine behind it.
import type { StoreBackend } from '../../../src/index.js';

/** Runs an operation (`run`), or delays, fails or holds it instead. */
export type Gate = <R>(run: () => Promise<R>) => Promise<R>;

/** `engine` with each of its operations run through `gate`. */
export function gated(engine: StoreBackend, gate: Gate): StoreBackend {
  return {
    rateLimit: (key, request) => gate(() => engine.rateLimit(key, request)),
    breaker: (key, request) => gate(() => engine.breaker(key, request)),
    budget: (key, request) => gate(() => engine.budget(key, request)),
    ping: () => gate(() => engine.ping()),
  };
}
