// The min-heap under the examples' virtual clocks (retry-storm.ts, overload/clock.ts):
// timers in an array, earliest first, and of two due at once the one set first.

/** What the heap orders by: the due time, then the order the timers were set in. */
export interface HeapTimer {
  at: number;
  seq: number;
}

const before = (a: HeapTimer, b: HeapTimer): boolean => a.at < b.at || (a.at === b.at && a.seq < b.seq);

/** Adds `timer` to `heap`. */
export function heapPush<T extends HeapTimer>(heap: T[], timer: T): void {
  heap.push(timer);
  for (let i = heap.length - 1; i > 0; ) {
    const parent = (i - 1) >> 1;
    if (!before(heap[i]!, heap[parent]!)) break;
    [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
    i = parent;
  }
}

/** Removes and returns the earliest timer; `undefined` when `heap` is empty. */
export function heapPop<T extends HeapTimer>(heap: T[]): T | undefined {
  const top = heap[0];
  const last = heap.pop();
  if (heap.length > 0 && last !== undefined) {
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
