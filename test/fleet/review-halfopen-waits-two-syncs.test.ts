// Review (issue 14): "no call waits on [the store] beyond that timeout" (API.md). A fleet
// CircuitBreaker whose view is stale (new, or idle) meets a half-open fleet whose trial
// leases are all held: its first call waits for one sync (the wake, asking a lease it does
// not get), then, the machine now half-open and #urgent cleared by the wake, waits for a
// second sync to ask for a lease again. On a store that answers just inside its timeout the
// call waits about twice the timeout before it is turned away.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BrokenCircuitError, CircuitBreaker, createMemoryStore, createStore } from '../../src/index.js';
import { gated } from './harness/gated.js';

describe('review: a stale breaker meeting a busy half-open fleet on a slow store', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it('waits at most the store timeout before it is decided', async () => {
    const engine = createMemoryStore().link.backend;
    const TIMEOUT = 50;
    const backend = gated(engine, (run) => new Promise((r) => setTimeout(r, 45)).then(run));
    const store = createStore(backend, { timeout: TIMEOUT });
    const make = () => new CircuitBreaker({ failureThreshold: 1, openDuration: 1_000, halfOpenMaxCalls: 1, syncInterval: 100, store, key: 'h' });
    const a = make();
    await vi.advanceTimersByTimeAsync(0);
    const tripped = a.execute(() => Promise.reject(new Error('boom'))).catch(() => {});
    await vi.advanceTimersByTimeAsync(200);
    await tripped;
    // Half-open; between a's periodic syncs (at whole 100 ms), a's trial takes the fleet's one lease.
    await vi.advanceTimersByTimeAsync(1_260);
    let trial = false;
    void a.execute(() => ((trial = true), new Promise(() => {}))).catch(() => {});
    await vi.advanceTimersByTimeAsync(100);
    expect(trial).toBe(true);
    // A new instance's first call.
    const b = make();
    const started = performance.now();
    let ended = NaN;
    let error: unknown;
    void b.execute(() => 'ok').then(
      () => (ended = performance.now()),
      (e: unknown) => ((error = e), (ended = performance.now())),
    );
    await vi.advanceTimersByTimeAsync(500);
    expect(error).toBeInstanceOf(BrokenCircuitError);
    expect(ended - started).toBeLessThanOrEqual(TIMEOUT);
  });
});
