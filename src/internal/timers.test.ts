import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MAX_TIMER, startTimer, stopTimer } from './timers.js';

describe('startTimer / stopTimer', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('fires a timer longer than setTimeout allows at its time, not before', () => {
    const fired = vi.fn();
    startTimer(fired, MAX_TIMER * 2 + 10);
    vi.advanceTimersByTime(MAX_TIMER * 2 + 9);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fired).toHaveBeenCalledOnce();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('stops a long timer in any of its steps, leaving no timer behind', () => {
    for (const stopAt of [0, 1, MAX_TIMER, MAX_TIMER * 2 + 5]) {
      const fired = vi.fn();
      const timer = startTimer(fired, MAX_TIMER * 2 + 10);
      vi.advanceTimersByTime(stopAt);
      stopTimer(timer);
      expect(vi.getTimerCount()).toBe(0);
      vi.advanceTimersByTime(MAX_TIMER * 3);
      expect(fired).not.toHaveBeenCalled();
    }
  });

  it('stops a long timer on the real clock too (fake timers clear a handle in a box by luck)', () => {
    vi.useRealTimers();
    const timeouts = (): number => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
    const before = timeouts();
    const fired = vi.fn();
    const timer = startTimer(fired, MAX_TIMER * 2 + 10);
    expect(timeouts()).toBe(before + 1);
    stopTimer(timer);
    expect(timeouts()).toBe(before);
  });

  it('stops a short timer; a timer of Infinity is none, and stopping it is harmless', () => {
    const fired = vi.fn();
    stopTimer(startTimer(fired, 5));
    const never = startTimer(fired, Infinity);
    expect(never).toBeUndefined();
    stopTimer(never);
    vi.advanceTimersByTime(MAX_TIMER * 3);
    expect(fired).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(0);
  });
});
