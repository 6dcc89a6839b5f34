// Review (issue 14): isolate() acts on the fleet (API.md). An instance that has not seen the
// fleet's latest reset (it was idle when another instance reset) sends its new hold with an
// old `resets` count: the store drops the hold, and the reply's unseen reset then ends the
// hold locally too (#apply: #cleared + reset). The user's isolate() ends up doing nothing at
// all: neither this instance nor the fleet is isolated, though the release function is live.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CircuitBreaker, createMemoryStore, type Store } from '../../src/index.js';

describe('review: isolate() from an instance whose view is older than the last reset', () => {
  let store: Store;
  beforeEach(() => {
    vi.useFakeTimers();
    store = createMemoryStore();
  });
  afterEach(() => void vi.useRealTimers());

  it('isolates this instance and the fleet', async () => {
    const make = () => new CircuitBreaker({ failureThreshold: 1, openDuration: 60_000, syncInterval: 100, store, key: 'iso' });
    const a = make();
    const b = make();
    await a.execute(() => 'ok');
    await b.execute(() => 'ok');
    await vi.advanceTimersByTimeAsync(15_000); // b falls idle
    a.reset(); // e.g. an operator's earlier reset through a
    await vi.advanceTimersByTimeAsync(200);
    const release = b.isolate();
    expect(b.state).toBe('isolated');
    await vi.advanceTimersByTimeAsync(300);
    expect(b.state).toBe('isolated');
    expect(a.state).toBe('isolated');
    release();
  });
});
