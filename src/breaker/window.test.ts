import { describe, expect, it, vi } from 'vitest';
import { BUCKETS, CountWindow, FAILED, SLOW, TimeWindow } from './window.js';

describe('CountWindow', () => {
  it('keeps running totals of the last size outcomes as the ring wraps many times', () => {
    const window = new CountWindow(7);
    const outcomes: number[] = [];
    for (let i = 0; i < 100; i++) {
      const outcome = (i % 3 === 0 ? FAILED : 0) | (i % 5 === 0 ? SLOW : 0);
      outcomes.push(outcome);
      window.recordAt(outcome);
      const last = outcomes.slice(-7);
      expect([window.calls, window.failures, window.slow]).toEqual([
        last.length,
        last.filter((o) => o & FAILED).length,
        last.filter((o) => o & SLOW).length,
      ]);
    }
  });

  it('saves oldest first and loads the newest calls into a smaller ring', () => {
    const window = new CountWindow(5);
    for (const o of [FAILED, 0, SLOW, FAILED | SLOW, 0, FAILED]) window.recordAt(o);
    window.rejectAt();
    const saved = window.saveAt();
    expect(saved).toEqual({ kind: 'count', outcomes: '02301', rejections: 1 });
    const small = new CountWindow(2);
    small.loadAt(saved);
    expect([small.calls, small.failures, small.slow, small.rejections]).toEqual([2, 1, 0, 1]);
  });
});

describe('TimeWindow', () => {
  it('clears at most BUCKETS buckets however long the idle gap, and keeps nothing stale', () => {
    const window = new TimeWindow(1_000, 0);
    for (let t = 0; t < 1_000; t += 50) window.recordAt(FAILED, t);
    expect(window.calls).toBe(20);
    const drop = vi.spyOn(window as unknown as { dropAt(at: number): void }, 'dropAt');
    window.ageTo(1e12);
    expect(drop.mock.calls.length).toBeLessThanOrEqual(BUCKETS);
    expect([window.calls, window.failures, window.slow, window.rejections]).toEqual([0, 0, 0, 0]);
  });

  it('drops a bucket once it is a whole window old', () => {
    const window = new TimeWindow(1_000, 0);
    window.recordAt(FAILED, 0);
    window.recordAt(0, 99);
    window.recordAt(0, 100);
    window.ageTo(999);
    expect(window.calls).toBe(3);
    window.ageTo(1_000);
    expect([window.calls, window.failures]).toEqual([1, 0]);
    window.ageTo(1_100);
    expect(window.calls).toBe(0);
  });

  it('ignores a clock that goes back', () => {
    const window = new TimeWindow(1_000, 5_000);
    window.recordAt(FAILED, 5_000);
    window.recordAt(FAILED, 4_000);
    expect(window.calls).toBe(2);
  });

  it('round-trips through a snapshot, and ages buckets by the time that passed', () => {
    const window = new TimeWindow(1_000, 0);
    window.recordAt(FAILED, 120);
    window.recordAt(SLOW, 560);
    window.rejectAt(560);
    window.recordAt(0, 990);
    const saved = JSON.parse(JSON.stringify(window.saveAt(1_000)));
    const copy = new TimeWindow(1_000, 70_000);
    copy.loadAt(saved, 70_000, 0);
    expect([copy.calls, copy.failures, copy.slow, copy.rejections]).toEqual([3, 1, 1, 1]);
    const later = new TimeWindow(1_000, 70_000);
    later.loadAt(saved, 70_000, 300); // as if read at 1 300: the bucket of 120 is a whole window old
    expect([later.calls, later.failures, later.slow, later.rejections]).toEqual([2, 0, 1, 1]);
  });
});
