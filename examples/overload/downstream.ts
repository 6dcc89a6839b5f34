// The simulated downstream services of the overload simulation. Honest models,
// nothing tuned to flatter a contender:
//
// - QueueingDownstream: `capacity` servers; a request is served at once if a
//   server is free, else it waits its turn in a FIFO queue that nothing bounds.
//   Service time is the base latency ± 20 % (uniform, seeded). It never fails,
//   and it serves a request even if the caller stopped waiting for it (no
//   cancellation: a database keeps running a query whose client timed out).
// - RejectingDownstream: `capacity` servers and no queue: a request that finds
//   every server busy is rejected at once (a 503 after 1 ms), like a backend
//   that sheds load when overloaded.

/** Thrown by a RejectingDownstream that is full. */
export class OverloadedError extends Error {
  override name = 'OverloadedError';
}

export class QueueingDownstream {
  /** Requests that reached it, and those it finished serving. */
  received = 0;
  served = 0;
  #busy = 0;
  readonly #queue: (() => void)[] = [];
  #head = 0;

  constructor(
    public capacity: number,
    readonly baseLatency: number,
    readonly random: () => number,
  ) {}

  /** A request: resolves when served. */
  call = (): Promise<void> => {
    this.received++;
    return new Promise<void>((resolve) => {
      if (this.#busy < this.capacity) this.#serve(resolve);
      else this.#queue.push(resolve);
    });
  };

  /** Requests waiting for a server. */
  get queued(): number {
    return this.#queue.length - this.#head;
  }

  #serve(resolve: () => void): void {
    this.#busy++;
    setTimeout(() => {
      this.#busy--;
      this.served++;
      resolve();
      // Servers beyond a lowered capacity finish their request, then take no more.
      while (this.#busy < this.capacity && this.#head < this.#queue.length) {
        const next = this.#queue[this.#head]!;
        this.#queue[this.#head++] = undefined as never;
        this.#serve(next);
      }
      if (this.#head > 4096 && this.#head * 2 > this.#queue.length) this.#queue.splice(0, this.#head), (this.#head = 0);
    }, this.#serviceTime());
  }

  #serviceTime(): number {
    return Math.round(this.baseLatency * (0.8 + 0.4 * this.random()));
  }
}

export class RejectingDownstream {
  received = 0;
  accepted = 0;
  #busy = 0;

  constructor(
    readonly capacity: number,
    readonly baseLatency: number,
    readonly random: () => number,
  ) {}

  call = (): Promise<void> => {
    this.received++;
    if (this.#busy >= this.capacity) {
      return new Promise<void>((_, reject) => setTimeout(() => reject(new OverloadedError('503 overloaded')), 1));
    }
    this.accepted++;
    this.#busy++;
    return new Promise<void>((resolve) =>
      setTimeout(
        () => {
          this.#busy--;
          resolve();
        },
        Math.round(this.baseLatency * (0.8 + 0.4 * this.random())),
      ),
    );
  };
}
