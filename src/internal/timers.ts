/** setTimeout's largest delay; anything longer fires at once on every runtime. */
export const MAX_TIMER = 2_147_483_647; // 2 ** 31 - 1, written out: bundlers keep a top-level `**` as a side effect

/** A timer longer than MAX_TIMER, re-armed in steps so it neither overflows nor fires early. */
class LongTimer {
  handle: ReturnType<typeof setTimeout> | undefined;
  constructor(callback: () => void, left: number) {
    // Closures, not fields: a rare timer, and the bundle stays smaller.
    const step = (): void => {
      const ms = Math.min(left, MAX_TIMER);
      left -= ms;
      this.handle = setTimeout(() => (left > 0 ? step() : callback()), ms);
    };
    step();
  }
}

/** A handle from {@link startTimer}; `undefined` for a timer that never fires. */
export type TimerHandle = ReturnType<typeof setTimeout> | LongTimer | undefined;

/** setTimeout that takes any delay: > 2^31-1 ms is chained, `Infinity` never fires. */
export function startTimer(callback: () => void, ms: number): TimerHandle {
  if (ms <= MAX_TIMER) return setTimeout(callback, ms);
  if (ms === Infinity) return undefined;
  return new LongTimer(callback, ms);
}

export function stopTimer(timer: TimerHandle): void {
  if (timer === undefined) return;
  clearTimeout(timer instanceof LongTimer ? timer.handle : timer);
}

/** Milliseconds from a monotonic clock (fake timers in tests control it too). */
export function now(): number {
  return performance.now();
}
