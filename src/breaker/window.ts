// The sliding windows a CircuitBreaker counts calls in. Both cost O(1) per
// call whatever their size: a count window is a ring of outcomes with running
// totals; a time window is a ring of buckets whose index comes from the clock,
// so a bucket that went stale during an idle gap is cleared before it is read.

/**
 * Outcome bits of one recorded call. A const enum: the build writes the numbers,
 * where constants would be variables in every bundle (bench/bundle.mjs).
 */
export const enum Bit {
  FAILED = 1,
  SLOW = 2,
}
// The same bits for the files outside the core that still import them.
export const FAILED = Bit.FAILED;
export const SLOW = Bit.SLOW;

/** Counts of a window, as a snapshot stores them. */
export type WindowSnapshot =
  | { readonly kind: 'count'; readonly outcomes: string; readonly rejections: number }
  | { readonly kind: 'time'; readonly buckets: readonly (readonly [age: number, calls: number, failures: number, slow: number, rejections: number])[] };

/** @internal */
export interface CallWindow {
  /** Totals over the window; read them after `ageTo(t)` (a time window ages). */
  readonly calls: number;
  readonly failures: number;
  readonly slow: number;
  readonly rejections: number;
  /** Records a finished call at time `t` with outcome bits `FAILED | SLOW`. */
  recordAt(outcome: number, t: number): void;
  /** Records a rejected call at time `t`. */
  rejectAt(t: number): void;
  /** Drops what is older than the window at time `t`. */
  ageTo(t: number): void;
  clearAll(): void;
  /** The counts, with ages relative to `t`. */
  saveAt(t: number): WindowSnapshot;
  /** Adds the counts of a snapshot taken `elapsed` ms before `t`. */
  loadAt(snapshot: WindowSnapshot, t: number, elapsed: number): void;
}

/** The last `size` calls. */
export class CountWindow implements CallWindow {
  calls = 0;
  failures = 0;
  slow = 0;
  rejections = 0;
  // #private: minifiers shorten these names, plain properties they cannot (bench/bundle.mjs).
  readonly #ring: Uint8Array;
  #head = 0;

  constructor(size: number) {
    this.#ring = new Uint8Array(size);
  }

  recordAt(outcome: number): void {
    const ring = this.#ring;
    if (this.calls === ring.length) {
      const old = ring[this.#head]!;
      this.failures -= old & Bit.FAILED;
      this.slow -= old >> 1;
    } else this.calls++;
    ring[this.#head] = outcome;
    this.failures += outcome & Bit.FAILED;
    this.slow += outcome >> 1;
    if (++this.#head === ring.length) this.#head = 0;
  }

  rejectAt(): void {
    this.rejections++;
  }

  ageTo(): void {}

  clearAll(): void {
    this.calls = this.failures = this.slow = this.rejections = this.#head = 0;
  }

  saveAt(): WindowSnapshot {
    let outcomes = '';
    const size = this.#ring.length;
    for (let i = this.calls; i > 0; i--) outcomes += String(this.#ring[(this.#head - i + size) % size]);
    return { kind: 'count', outcomes, rejections: this.rejections };
  }

  loadAt(snapshot: WindowSnapshot): void {
    if (snapshot.kind !== 'count') return;
    const outcomes = snapshot.outcomes;
    for (let i = Math.max(0, outcomes.length - this.#ring.length); i < outcomes.length; i++) this.recordAt(Number(outcomes[i]) & 3);
    this.rejections += snapshot.rejections;
  }
}

/** Number of buckets a time window is cut into (a const enum, as Bit: written out in the build). */
const enum Ring {
  BUCKETS = 10,
}
export const BUCKETS = Ring.BUCKETS;

/**
 * Calls that ended in the last `duration` ms, in BUCKETS buckets of
 * `duration / BUCKETS` ms: a call drops out with its bucket, between 0.9 and
 * 1 × `duration` after it ended, never later.
 */
export class TimeWindow implements CallWindow {
  calls = 0;
  failures = 0;
  slow = 0;
  rejections = 0;
  // #private: minifiers shorten these names, plain properties they cannot (bench/bundle.mjs).
  readonly #width: number;
  // Per bucket: calls, failures, slow, rejections at [4i .. 4i+3].
  readonly #counts = new Float64Array(Ring.BUCKETS * 4);
  /** Bucket number (time / width) of the newest bucket. */
  #epoch: number;

  // Plain parameters, not parameter properties: an ES2022 build would declare and assign each (bytes).
  constructor(duration: number, t: number) {
    this.#width = duration / Ring.BUCKETS;
    this.#epoch = Math.floor(t / this.#width);
  }

  recordAt(outcome: number, t: number): void {
    this.ageTo(t);
    this.#add(slot(this.#epoch), 1, outcome & Bit.FAILED, outcome >> 1, 0);
  }

  rejectAt(t: number): void {
    this.ageTo(t);
    this.#add(slot(this.#epoch), 0, 0, 0, 1);
  }

  ageTo(t: number): void {
    const epoch = Math.floor(t / this.#width);
    if (epoch <= this.#epoch) return;
    // Clears at most BUCKETS buckets, however long the clock was idle.
    const stale = Math.min(epoch - this.#epoch, Ring.BUCKETS);
    for (let k = 1; k <= stale; k++) this.dropAt(slot(this.#epoch + k));
    this.#epoch = epoch;
  }

  clearAll(): void {
    this.#counts.fill(0);
    this.calls = this.failures = this.slow = this.rejections = 0;
  }

  saveAt(t: number): WindowSnapshot {
    this.ageTo(t);
    const buckets: [number, number, number, number, number][] = [];
    const into = t - this.#epoch * this.#width;
    for (let k = Ring.BUCKETS - 1; k >= 0; k--) {
      const at = slot(this.#epoch - k);
      const c = this.#counts;
      if (c[at] === 0 && c[at + 3] === 0) continue;
      // Age of the bucket's middle, so a restore lands it in the same place.
      buckets.push([into + (k - 0.5) * this.#width, c[at]!, c[at + 1]!, c[at + 2]!, c[at + 3]!]);
    }
    return { kind: 'time', buckets };
  }

  loadAt(snapshot: WindowSnapshot, t: number, elapsed: number): void {
    if (snapshot.kind !== 'time') return;
    this.ageTo(t);
    for (const [age, calls, failures, slow, rejections] of snapshot.buckets) {
      const epoch = Math.floor((t - Math.max(0, age + elapsed)) / this.#width);
      if (epoch <= this.#epoch - Ring.BUCKETS) continue;
      this.#add(slot(epoch), calls, failures, slow, rejections);
    }
  }

  private dropAt(at: number): void {
    const c = this.#counts;
    this.#add(at, -c[at]!, -c[at + 1]!, -c[at + 2]!, -c[at + 3]!); // to 0 exactly: x - x
  }

  /** Adds to the bucket at `at` and to the totals. */
  #add(at: number, calls: number, failures: number, slow: number, rejections: number): void {
    const c = this.#counts;
    c[at]! += calls;
    c[at + 1]! += failures;
    c[at + 2]! += slow;
    c[at + 3]! += rejections;
    this.calls += calls;
    this.failures += failures;
    this.slow += slow;
    this.rejections += rejections;
  }
}

/** Where the bucket of `epoch` starts in `#counts` (any epoch, even one before 0). */
function slot(epoch: number): number {
  return (((epoch % Ring.BUCKETS) + Ring.BUCKETS) % Ring.BUCKETS) * 4;
}
