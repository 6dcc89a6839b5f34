import { TimeoutError } from '../errors.js';
import { now, startTimer, stopTimer, type TimerHandle } from '../internal/timers.js';
import type { StoreBackend, StoreLink } from './types.js';

/** ms before the first probe of a store that failed; each failed probe doubles it, up to MAX_PROBE. */
const FIRST_PROBE = 100;
const MAX_PROBE = 1_000;

const ping = (backend: StoreBackend): Promise<unknown> => backend.ping();
const ignore = (): void => {};

/**
 * One operation in flight: a node of its link's list, which is in deadline
 * order (every operation of a link gets the same timeout). It is also the
 * listener of the caller's signal (`handleEvent`): no closure per operation.
 */
class Flight {
  prev: Flight | undefined = undefined;
  next: Flight | undefined = undefined;
  open = true;
  constructor(
    readonly flights: Flights,
    readonly deadline: number,
    readonly resolve: (value: unknown) => void,
    readonly reject: (error: unknown) => void,
    readonly signal: AbortSignal | undefined,
    /** Told of a failure (the store is down); `undefined` for a probe. */
    readonly failed: ((error: unknown, epoch: number) => void) | undefined,
    /** The link's outage epoch when it was sent (see StoreLinkImpl.#epoch). */
    readonly epoch: number,
  ) {}

  /** Closes it: out of the list, its listener removed. False when it had settled already. */
  close(): boolean {
    if (!this.open) return false;
    this.open = false;
    this.flights.remove(this);
    this.signal?.removeEventListener('abort', this);
    return true;
  }

  settle(value: unknown): void {
    if (this.close()) this.resolve(value);
  }

  fail(error: unknown): void {
    if (!this.close()) return;
    this.failed?.(error, this.epoch);
    this.reject(error);
  }

  /** The caller gave up: no store failure. */
  handleEvent(): void {
    if (this.close()) this.reject(this.signal!.reason);
  }
}

/**
 * A link's operations in flight, oldest first, and one timer for all their
 * deadlines (a timer per operation cost more than the rest of the link). The
 * timer is armed for the oldest; when it fires, every operation past its
 * deadline fails with a timeout, and it is armed again for the oldest left.
 * It is stopped as soon as nothing is in flight.
 */
class Flights {
  #head: Flight | undefined = undefined;
  #tail: Flight | undefined = undefined;
  #timer: TimerHandle = undefined;
  #armed = false;

  constructor(readonly timeoutError: () => unknown) {}

  add(flight: Flight): void {
    flight.prev = this.#tail;
    if (this.#tail === undefined) this.#head = flight;
    else this.#tail.next = flight;
    this.#tail = flight;
    if (!this.#armed) this.#arm(flight.deadline - now());
  }

  remove(flight: Flight): void {
    const { prev, next } = flight;
    if (prev === undefined) this.#head = next;
    else prev.next = next;
    if (next === undefined) this.#tail = prev;
    else next.prev = prev;
    flight.prev = flight.next = undefined;
    if (this.#head === undefined && this.#armed) {
      this.#armed = false;
      stopTimer(this.#timer);
    }
  }

  #arm(ms: number): void {
    this.#armed = true;
    this.#timer = startTimer(this.#expire, ms);
  }

  readonly #expire = (): void => {
    this.#armed = false;
    const t = now();
    // A flight failed here is removed from the list by its own close().
    for (let f = this.#head; f !== undefined && f.deadline <= t; f = this.#head) f.fail(this.timeoutError());
    if (this.#head !== undefined) this.#arm(this.#head.deadline - t);
  };
}

/**
 * The one {@link StoreLink} of a store: every operation bounded by the
 * store's timeout and the caller's signal, and the store's health.
 *
 * Health: the first failure (an error, or the timeout) marks the store down
 * with that error; while down, `run` rejects at once with it and the backend is
 * not called. A probe (`backend.ping()`, bounded by the same timeout) runs
 * FIRST_PROBE ms later, then at doubling intervals up to MAX_PROBE, until one
 * answers: the store is up again and each `onUp` callback gets the downtime.
 * The probe's timer is unref'd (it never keeps a process alive), and probing
 * pauses when nobody calls — a failed probe after which no `run` was refused
 * stops there (an `onUp` waiting alone does not keep it going: a policy that
 * met the outage and then fell idle, or was dropped, must not keep a timer);
 * the next `run` (still refused at once) starts it again, FIRST_PROBE ms
 * later. So a dropped store or policy whose engine is gone leaves no timer.
 *
 * Epochs: each recovery starts a new epoch, and an operation remembers the
 * epoch it was sent in. An operation sent before the last recovery that fails
 * afterwards (a reply lost with the old connection, timing out after the probe
 * already found the store back) is rejected but marks nothing down: it says
 * nothing about the store as it is now.
 * @internal
 */
export class StoreLinkImpl implements StoreLink {
  #down = false;
  /** The error that began the current outage. */
  #error: unknown;
  /** now() when it began. */
  #since = 0;
  #ups = new Set<(downtime: number) => void>();
  #delay = FIRST_PROBE;
  #probing = false;
  /** A `run` was refused since the last probe. */
  #asked = false;
  /** Recoveries so far: an operation's failure counts only in the epoch it was sent in. */
  #epoch = 0;
  /** Operations in flight, and the one timer of their deadlines. */
  readonly #flights = new Flights(() => new TimeoutError(`Store operation timed out after ${this.timeout} ms`, { timeout: this.timeout }));

  constructor(
    readonly backend: StoreBackend,
    readonly timeout: number,
  ) {}

  get down(): boolean {
    return this.#down;
  }

  run<R>(op: (backend: StoreBackend) => Promise<R>, signal?: AbortSignal): Promise<R> {
    if (this.#down) {
      this.#asked = true;
      // Probing had paused (nobody called): start again soon.
      if (!this.#probing) {
        this.#delay = FIRST_PROBE;
        this.#schedule();
      }
      return Promise.reject(this.#error);
    }
    return this.#bounded(op, signal, true);
  }

  onUp(up: (downtime: number) => void): () => void {
    if (!this.#down) {
      up(0);
      return ignore;
    }
    // A wrapper per registration, so the same function registered twice is called twice and cancels apart.
    const once = (downtime: number): void => up(downtime);
    this.#ups.add(once);
    return () => void this.#ups.delete(once);
  }

  /**
   * `op`, settled by the first of: its own result, the timeout, an abort of
   * `signal`. Whatever comes later is ignored, and the listener is removed as
   * soon as it settles. `health`: a failure marks the store down.
   */
  #bounded<R>(op: (backend: StoreBackend) => Promise<R>, signal: AbortSignal | undefined, health: boolean): Promise<R> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<R>((resolve, reject) => {
      const flight = new Flight(this.#flights, now() + this.timeout, resolve as (value: unknown) => void, reject, signal, health ? this.#failed : undefined, this.#epoch);
      this.#flights.add(flight);
      signal?.addEventListener('abort', flight);
      let pending: Promise<R>;
      try {
        pending = Promise.resolve(op(this.backend));
      } catch (error) {
        pending = Promise.reject(error);
      }
      pending.then(
        (value) => flight.settle(value),
        (error: unknown) => flight.fail(error),
      );
    });
  }

  /** A failure of a run (not of a probe) sent in `epoch`: the store is down, unless the store recovered since. */
  readonly #failed = (error: unknown, epoch: number): void => {
    if (epoch === this.#epoch) this.#fail(error);
  };

  #fail(error: unknown): void {
    if (this.#down) return;
    this.#down = true;
    this.#error = error;
    this.#since = now();
    this.#delay = FIRST_PROBE;
    this.#asked = false;
    this.#schedule();
  }

  #schedule(): void {
    this.#probing = true;
    const timer = setTimeout(() => this.#probe(), this.#delay);
    (timer as { unref?: () => void }).unref?.();
  }

  #probe(): void {
    this.#bounded(ping, undefined, false).then(
      () => this.#recover(),
      () => {
        // Nobody called since the last probe: pause (an onUp waiting alone keeps no timer).
        if (!this.#asked) {
          this.#probing = false;
          return;
        }
        this.#asked = false;
        this.#delay = Math.min(this.#delay * 2, MAX_PROBE);
        this.#schedule();
      },
    );
  }

  #recover(): void {
    const downtime = now() - this.#since;
    this.#epoch++;
    this.#down = false;
    this.#error = undefined;
    this.#probing = false;
    const ups = [...this.#ups];
    this.#ups.clear();
    for (const up of ups) {
      try {
        up(downtime);
      } catch {
        // A callback's throw must not keep the others from hearing the store is back.
      }
    }
  }
}
