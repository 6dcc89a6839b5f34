// A discrete-event clock for the overload simulation: setTimeout, clearTimeout
// and performance.now over a min-heap of timers, at 1 ms resolution. Every
// timer due in the same millisecond fires, then the promise chains they started
// run to the end (one real macrotask), then the clock moves on. Nothing waits
// in real time, so a minute of simulated overload takes a second or two, and
// the same seed prints the same figures every run.
import { setImmediate as realSetImmediate } from 'node:timers';

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

const before = (a: Timer, b: Timer): boolean => a.at < b.at || (a.at === b.at && a.seq < b.seq);
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
        const timer = this.#pop();
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
    const heap = this.#heap;
    heap.push(timer);
    for (let i = heap.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
    return timer;
  }

  #pop(): Timer {
    const heap = this.#heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && before(heap[l]!, heap[m]!)) m = l;
        if (r < heap.length && before(heap[r]!, heap[m]!)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m]!, heap[i]!];
        i = m;
      }
    }
    return top;
  }
}
