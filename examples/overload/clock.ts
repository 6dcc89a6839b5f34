// A discrete-event clock for the overload simulation: setTimeout, clearTimeout
// and performance.now over a min-heap of timers, at 1 ms resolution. Every
// timer due in the same millisecond fires, then the promise chains they started
// run to the end (one real macrotask), then the clock moves on. Nothing waits
// in real time, so a minute of simulated overload takes a second or two, and
// the same seed prints the same figures every run.
import { setImmediate as realSetImmediate } from 'node:timers';
import { heapPop, heapPush } from '../timer-heap.js';

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

const settle = (): Promise<void> => new Promise((resolve) => realSetImmediate(resolve));

/** The simulated clock; `install()` puts it in place of the global timers until `uninstall()`. */
export class VirtualClock {
  now = 0;
  #seq = 0;
  readonly #heap: Timer[] = [];
  #saved: { setTimeout: unknown; clearTimeout: unknown; now: () => number } | undefined;

  install(): this {
    const g = globalThis as unknown as Record<string, unknown>;
    this.#saved = { setTimeout: g.setTimeout, clearTimeout: g.clearTimeout, now: performance.now.bind(performance) };
    g.setTimeout = (fn: () => void, ms = 0): Timer => this.#push(fn, ms);
    g.clearTimeout = (timer: Timer | undefined): void => {
      if (timer !== undefined && typeof timer === 'object') timer.cancelled = true;
    };
    performance.now = () => this.now;
    return this;
  }

  uninstall(): void {
    const saved = this.#saved;
    if (saved === undefined) return;
    const g = globalThis as unknown as Record<string, unknown>;
    g.setTimeout = saved.setTimeout;
    g.clearTimeout = saved.clearTimeout;
    performance.now = saved.now;
    this.#saved = undefined;
  }

  /** Runs every timer due up to `until` (ms), a millisecond at a time. */
  async run(until: number): Promise<void> {
    await settle();
    const heap = this.#heap;
    while (heap.length > 0 && heap[0]!.at <= until) {
      const tick = heap[0]!.at;
      this.now = tick;
      while (heap.length > 0 && heap[0]!.at <= tick) {
        const timer = heapPop(heap)!;
        if (!timer.cancelled) timer.fn();
      }
      await settle(); // the promise chains this millisecond's timers started, before time moves on
    }
    this.now = until;
  }

  /** Timers still pending (cancelled ones excepted). */
  get pending(): number {
    return this.#heap.filter((t) => !t.cancelled).length;
  }

  #push(fn: () => void, ms: number): Timer {
    // 1 ms resolution: a timer fires at the first whole millisecond at or after its due time.
    const timer = { at: Math.ceil(this.now + Math.max(0, ms || 0)), seq: this.#seq++, fn, cancelled: false };
    heapPush(this.#heap, timer);
    return timer;
  }
}
