/** setTimeout's largest delay; anything longer fires at once on every runtime. */
export const MAX_TIMER = 2_147_483_647; // 2 ** 31 - 1, written out: bundlers keep a top-level `**` as a side effect

/**
 * A handle from {@link startTimer}; `undefined` for a timer that never fires. A timer longer
 * than MAX_TIMER is a box holding the handle of its current step (no platform's handle is an array).
 */
export type TimerHandle = ReturnType<typeof setTimeout> | [ReturnType<typeof setTimeout>?] | undefined;

/** setTimeout that takes any delay: > 2^31-1 ms is chained, `Infinity` never fires. */
export function startTimer(callback: () => void, ms: number): TimerHandle {
  if (ms <= MAX_TIMER) return setTimeout(callback, ms);
  if (ms === Infinity) return undefined;
  // Re-armed in steps, so it neither overflows nor fires early. Closures: a rare timer, and the bundle stays smaller.
  const long: [ReturnType<typeof setTimeout>?] = [];
  const step = (): void => {
    const next = Math.min(ms, MAX_TIMER);
    ms -= next;
    long[0] = setTimeout(() => (ms > 0 ? step() : callback()), next);
  };
  step();
  return long;
}

export function stopTimer(timer: TimerHandle): void {
  if (timer === undefined) return;
  clearTimeout(Array.isArray(timer) ? timer[0] : timer);
}

/** Milliseconds from a monotonic clock (fake timers in tests control it too). */
export function now(): number {
  return performance.now();
}
