// Review (issue 14): in half-open, a call that finds a sync in flight joins it (ready() ->
// #flush() -> #busy) and is turned away when it settles; its lease request rides the next sync,
// and the lease it brings is given back unused at the next tick (#ticked: released += free)
// unless another call comes in between. With calls arriving in step with the sync — here every
// 50 ms, syncInterval 100, a store answering in 45 ms — every lease the fleet grants is given
// back and no trial ever runs: the circuit stays half-open, rejecting everything, for good.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CircuitBreaker, createMemoryStore, createStore } from '../../src/index.js';
import { gated } from './harness/gated.js';

describe('review: half-open trials on a store answering in half a sync interval', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it('a steady caller gets a trial within a few sync intervals of half-open', async () => {
    const engine = createMemoryStore().link.backend;
    const backend = gated(engine, (run) => new Promise((r) => setTimeout(r, 45)).then(run));
    const store = createStore(backend, { timeout: 50 });
    const b = new CircuitBreaker({ failureThreshold: 1, openDuration: 1_000, halfOpenMaxCalls: 1, syncInterval: 100, store, key: 'starve' });
    const tripped = b.execute(() => Promise.reject(new Error('boom'))).catch(() => {});
    await vi.advanceTimersByTimeAsync(200);
    await tripped;
    await vi.advanceTimersByTimeAsync(1_200);
    expect(b.state).toBe('half-open');
    let trials = 0;
    for (let t = 0; t < 3_000; t += 50) {
      void b.execute(() => (trials++, 'ok')).catch(() => {});
      await vi.advanceTimersByTimeAsync(50);
    }
    expect(trials).toBeGreaterThan(0);
    expect(b.state).toBe('closed');
  });
});
