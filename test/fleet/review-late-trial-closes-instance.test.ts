// Review (issue 14): a half-open trial that outlives its lease (openDuration) and then
// succeeds closes its own instance's machine, though the fleet is still half-open with
// another instance's trial on the lease: that instance then admits every call, more
// than halfOpenMaxCalls at once fleet-wide.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CircuitBreaker, createMemoryStore, type Store } from '../../src/index.js';

describe('review: a trial that outlived its lease', () => {
  let store: Store;
  beforeEach(() => {
    vi.useFakeTimers();
    store = createMemoryStore();
  });
  afterEach(() => void vi.useRealTimers());

  it('does not close its instance while the fleet is half-open with another trial on the lease', async () => {
    const make = () => new CircuitBreaker({ failureThreshold: 1, openDuration: 1_000, halfOpenMaxCalls: 1, syncInterval: 100, store, key: 'late' });
    const a = make();
    const b = make();
    await a.execute(() => 'ok');
    await b.execute(() => 'ok');
    await a.execute(() => Promise.reject(new Error('boom'))).catch(() => {});
    await vi.advanceTimersByTimeAsync(200);
    expect(b.state).toBe('open');
    // Half-open: a's trial takes the one lease and hangs past openDuration.
    await vi.advanceTimersByTimeAsync(1_000);
    let finishA!: (v: string) => void;
    let aCalled = false;
    const trialA = a.execute(() => ((aCalled = true), new Promise<string>((r) => (finishA = r))));
    await vi.advanceTimersByTimeAsync(10);
    expect(aCalled).toBe(true);
    await vi.advanceTimersByTimeAsync(1_100);
    // Its lease expired: b may try, and its trial runs now (the fleet's one trial).
    let bCalled = false;
    void b.execute(() => ((bCalled = true), new Promise<string>(() => {}))).catch(() => {});
    await vi.advanceTimersByTimeAsync(10);
    expect(bCalled).toBe(true);
    // a's late trial succeeds.
    finishA('ok');
    await trialA;
    await vi.advanceTimersByTimeAsync(250);
    // b's trial is the fleet's one: a must not run calls freely now.
    let running = 0;
    for (let i = 0; i < 5; i++) void a.execute(() => (running++, new Promise(() => {}))).catch(() => {});
    await vi.advanceTimersByTimeAsync(10);
    expect(a.state).not.toBe('closed');
    expect(running).toBe(0);
  });
});
