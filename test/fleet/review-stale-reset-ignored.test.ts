// Review (issue 14): reset() acts on the fleet (API.md) — but an instance that has not
// seen the fleet's latest reset (it was idle, or the reset was within its last syncInterval)
// sends its reset with an old `resets` count, and the store drops it: the circuit stays
// open for everyone, the caller's own instance included, after the sync.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CircuitBreaker, createMemoryStore, type Store } from '../../src/index.js';

describe('review: reset() from an instance whose view is older than the last reset', () => {
  let store: Store;
  beforeEach(() => {
    vi.useFakeTimers();
    store = createMemoryStore();
  });
  afterEach(() => void vi.useRealTimers());

  const boom = (): Promise<never> => Promise.reject(new Error('boom'));
  const make = () => new CircuitBreaker({ failureThreshold: 1, openDuration: 60_000, syncInterval: 100, store, key: 'r' });

  it('an idle instance’s reset() closes the fleet', async () => {
    const a = make();
    const b = make();
    await a.execute(() => 'ok');
    await b.execute(() => 'ok');
    // b falls idle (its sync stops); meanwhile a trips, resets, trips again.
    await vi.advanceTimersByTimeAsync(15_000);
    await a.execute(boom).catch(() => {});
    await vi.advanceTimersByTimeAsync(200);
    a.reset();
    await vi.advanceTimersByTimeAsync(200);
    await a.execute(boom).catch(() => {});
    await vi.advanceTimersByTimeAsync(200);
    expect(a.state).toBe('open');
    // The operator resets the circuit through b.
    b.reset();
    await vi.advanceTimersByTimeAsync(300);
    expect(b.state).toBe('closed');
    expect(a.state).toBe('closed');
  });

  it('a reset() within one syncInterval of another instance’s reset and reopening closes the fleet', async () => {
    const a = make();
    const b = make();
    await a.execute(() => 'ok');
    await b.execute(() => 'ok');
    await a.execute(boom).catch(() => {});
    await vi.advanceTimersByTimeAsync(150);
    expect(b.state).toBe('open');
    // a resets and trips again between two of b's syncs; then b resets.
    a.reset();
    await vi.advanceTimersByTimeAsync(1);
    await a.execute(boom).catch(() => {});
    await vi.advanceTimersByTimeAsync(1);
    b.reset();
    await vi.advanceTimersByTimeAsync(300);
    expect(b.state).toBe('closed');
    expect(a.state).toBe('closed');
  });
});
