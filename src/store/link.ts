import { TimeoutError } from '../errors.js';
import { now, startTimer, stopTimer, type TimerHandle } from '../internal/timers.js';
import type { StoreBackend, StoreLink } from './types.js';

/** ms before the first probe of a store that failed; each failed probe doubles it, up to MAX_PROBE. */
const FIRST_PROBE = 100;
const MAX_PROBE = 1_000;

const ping = (backend: StoreBackend): Promise<unknown> => backend.ping();
const ignore = (): void => {};

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
 * pauses when nobody cares — a failed probe after which no `run` was refused
 * and no `onUp` waits stops there; the next `run` (still refused at once)
 * starts it again. So a dropped store whose engine is gone leaves no timer.
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
      if (!this.#probing) this.#schedule();
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
   * `signal`. Whatever comes later is ignored, and the timer and listener are
   * removed as soon as it settles. `health`: a failure marks the store down.
   */
  #bounded<R>(op: (backend: StoreBackend) => Promise<R>, signal: AbortSignal | undefined, health: boolean): Promise<R> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<R>((resolve, reject) => {
      let open = true;
      const settle = (): boolean => {
        if (!open) return false;
        open = false;
        stopTimer(timer);
        signal?.removeEventListener('abort', aborted);
        return true;
      };
      const failed = (error: unknown): void => {
        if (!settle()) return;
        if (health) this.#fail(error);
        reject(error);
      };
      const aborted = (): void => {
        // The caller gave up: no store failure.
        if (settle()) reject(signal!.reason);
      };
      const timer: TimerHandle = startTimer(() => failed(new TimeoutError(`Store operation timed out after ${this.timeout} ms`, { timeout: this.timeout })), this.timeout);
      signal?.addEventListener('abort', aborted);
      let pending: Promise<R>;
      try {
        pending = Promise.resolve(op(this.backend));
      } catch (error) {
        pending = Promise.reject(error);
      }
      pending.then((value) => {
        if (settle()) resolve(value);
      }, failed);
    });
  }

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
        if (!this.#asked && this.#ups.size === 0) {
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
