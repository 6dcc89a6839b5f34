import type { BreakerFleet } from './breaker/fleet.js';
import { resolveOptions, type CircuitBreakerOptions, type ResolvedOptions } from './breaker/options.js';
import type { CircuitBreakerEvents, CircuitBreakerStats } from './breaker/events.js';
import { rejection } from './breaker/rejection.js';
import { finite, type CircuitBreakerSnapshot, type CircuitState } from './breaker/snapshot.js';
import { Bit, CountWindow, TimeWindow, type CallWindow } from './breaker/window.js';
import { isCalledOff, type Ctx, type Next } from './internal/context.js';
import { now } from './internal/timers.js';
import { PolicyBase } from './policy.js';

export type { CircuitBreakerEvents, CircuitBreakerStats };

/** The state apart from isolation, which `#isolations` holds above it. */
type Phase = Exclude<CircuitState, 'isolated'>;
const NO_PAYLOAD: Readonly<Record<never, never>> = /* @__PURE__ */ Object.freeze({});

/**
 * A circuit breaker: after too many failures it rejects calls at once with
 * `BrokenCircuitError` for `openDuration`, then lets trial calls through and
 * closes again when they succeed (with a `store`, for a fleet: {@link CircuitBreakerOptions.store}).
 *
 * @example
 * ```ts
 * import { CircuitBreaker, BrokenCircuitError } from 'breakwater';
 *
 * const breaker = new CircuitBreaker({ failureRateThreshold: 0.5, windowDuration: 60_000, openDuration: 10_000 });
 * breaker.on('stateChange', ({ from, to }) => console.log(`circuit ${from} -> ${to}`));
 * try {
 *   await breaker.execute(({ signal }) => fetch('https://api.example.com/health', { signal }));
 * } catch (error) {
 *   if (error instanceof BrokenCircuitError) console.log(`try again in ${error.retryAfter} ms`);
 * }
 * ```
 */
export class CircuitBreaker extends PolicyBase<CircuitBreakerEvents> {
  // #private: minifiers shorten these names, plain properties they cannot (bench/bundle.mjs).
  readonly #o: ResolvedOptions;
  readonly #window: CallWindow;
  readonly #fleet: BreakerFleet | undefined; // with a store: the fleet's state, of which these fields are a view
  #phase: Phase = 'closed';
  /** Bumped on every state change: results of calls admitted earlier are ignored. */
  #generation = 0;
  /** Open: when trials are admitted. Half-open: when busy trials count as hung. */
  #dueAt = 0;
  #openFor = 0;
  #opens = 0;
  #consecutive = 0;
  #trials = 0;
  #successes = 0;
  #isolations = 0;
  /** Bumped by reset(), which voids every outstanding isolate() handle. */
  #resets = 0;
  /** The error that opened the circuit, the cause of its rejections. */
  #cause: unknown;
  /** The generation `#onValue`/`#onError` were made for (see #call). */
  #watchedGeneration!: number;
  #onValue!: (value: unknown) => unknown;
  #onError!: (error: unknown) => never;

  constructor(options?: CircuitBreakerOptions) {
    super('stateChange open halfOpen close rejected success failure storeError storeRecovered', 'CircuitBreaker');
    const o = (this.#o = resolveOptions(options));
    const t = now();
    const w = o.windowDuration === undefined ? new CountWindow(o.windowSize) : new TimeWindow(o.windowDuration, t);
    this.#window = (this.#fleet = o.store?.fleet.breaker(this, o, w, options!))?.tally ?? w;
    const s = o.initialState;
    if (s !== undefined) {
      // Time that passed between save and restore (wall clock; never negative).
      const elapsed = Math.max(0, Date.now() - s.savedAt);
      this.#window.loadAt(s.window, t, elapsed);
      this.#consecutive = s.consecutiveFailures;
      this.#opens = s.opens;
      this.#openFor = s.openDuration ?? Infinity;
      this.#isolations = s.isolations; // > 0 exactly when isolated (checked)
      if (s.state === 'open' || s.state === 'half-open') {
        // Half-open resumes as open with its wait over: trials in flight did not survive.
        this.#phase = 'open';
        this.#dueAt = s.state === 'open' ? t + Math.max(0, (s.openRemaining ?? Infinity) - elapsed) : t;
      }
    }
    // The reactions of #call are made by its first call (#watchedGeneration is undefined until then).
  }

  /** The current state. Reads `'half-open'` as soon as the open wait has passed. */
  get state(): CircuitState {
    if (this.#phase === 'open' && this.#isolations === 0) this.#sync(now());
    // Read after the sync: a listener of its transition may have isolated the breaker.
    return this.#isolations > 0 ? 'isolated' : this.#phase;
  }

  /** Counts over the current window. */
  stats(): CircuitBreakerStats {
    const state = this.state;
    const w = this.#window;
    w.ageTo(now());
    return { state, calls: w.calls, failures: w.failures, slowCalls: w.slow, rejections: w.rejections };
  }

  /**
   * Holds the circuit open (`isolated`: every call rejected with
   * `IsolatedCircuitError`) until the returned function is called. Holds
   * nest: the circuit closes when the last one is released.
   */
  isolate(): () => void {
    const from = this.state;
    if (++this.#isolations === 1) {
      this.#generation++;
      this.#change(from, 'isolated');
    }
    const resets = this.#resets;
    let held = true;
    return () => {
      if (!held || resets !== this.#resets) return;
      held = false;
      if (--this.#isolations === 0) this.#close('isolated');
    };
  }

  /** Closes the circuit and clears all counts; also ends every isolation. */
  reset(): void {
    const from = this.state;
    this.#resets++;
    this.#isolations = 0;
    this.#close(from);
  }

  /** A JSON-serialisable snapshot; `new CircuitBreaker({ initialState })` resumes from it. */
  toJSON(): CircuitBreakerSnapshot {
    const state = this.state;
    const t = now();
    return {
      version: 1,
      state,
      savedAt: Date.now(),
      openRemaining: state === 'open' ? finite(this.#dueAt - t) : 0,
      openDuration: finite(this.#openFor),
      opens: this.#opens,
      isolations: this.#isolations,
      consecutiveFailures: this.#consecutive,
      window: this.#window.saveAt(t),
    };
  }

  /** @internal */
  run(ctx: Ctx, next: Next): Promise<unknown> {
    // The happy path: closed, nothing else to decide.
    if (this.#phase === 'closed' && this.#isolations === 0 && !this.#fleet?.stale) return this.#call(ctx, next, this.#generation);
    return this.#admit(ctx, next);
  }

  #admit(ctx: Ctx, next: Next, waited?: boolean): Promise<unknown> {
    const t = now();
    if (this.#isolations === 0) this.#sync(t);
    // A listener of that transition may have aborted this call: it must not start.
    if (ctx.aborted) return Promise.reject(ctx.reason);
    // With a store, the call may first wait (bounded) for a fresh view or a trial lease, once.
    const wait = waited ? undefined : this.#fleet?.ready(ctx);
    if (wait) return wait.then(() => this.#admit(ctx, next, true));
    // Checked again: such a listener may also have isolated or reset the breaker.
    if (this.#isolations === 0) {
      if (this.#phase === 'closed') return this.#call(ctx, next, this.#generation);
      if (this.#phase === 'half-open') {
        // With a store, a trial needs one of the fleet's leases (which expire instead of counting as hung).
        const lease = this.#fleet?.lease();
        const free = lease ?? this.#trials < this.#o.halfOpenMaxCalls;
        if (free || (lease === undefined && t >= this.#dueAt)) {
          if (!free) {
            // Every trial slot has been busy for a whole open wait: count those
            // trials as hung, ignore their results, and start a fresh one.
            this.#generation++;
            this.#trials = 0;
          }
          this.#trials++;
          // With no open wait (0), a trial that just started would count as hung
          // at once and every caller would become a trial: then it is the default wait.
          this.#dueAt = t + (this.#openFor || 30_000);
          return this.#call(ctx, next, this.#generation);
        }
      }
    }
    this.#window.rejectAt(t);
    const state = this.#isolations > 0 ? 'isolated' : (this.#phase as 'open' | 'half-open');
    // Made before the event: a listener's reset() must not change what this rejection says.
    const error = rejection(state, Math.ceil(Math.max(0, this.#dueAt - t)), this.#cause);
    if (this.listeners.rejected !== undefined) this.emit('rejected', { state });
    return Promise.reject(error);
  }

  #call(ctx: Ctx, next: Next, generation: number): Promise<unknown> {
    // The clock is read only when a duration is wanted.
    const timed = this.#o.slowCallDuration !== undefined || this.listeners.success !== undefined || this.listeners.failure !== undefined;
    // Reactions rather than an async function: one promise less per call, same ticks (see bench/).
    if (!timed && !ctx.abortable) {
      // Untimed and unabortable, a call is known by its generation alone:
      // reactions made once per generation, not once per call.
      if (this.#watchedGeneration !== generation) this.#watchGeneration(generation);
      return next(ctx).then(this.#onValue, this.#onError);
    }
    const start = timed ? now() : NaN;
    return next(ctx).then(
      (value: unknown) => this.#settleValue(generation, start, value),
      (error: unknown) => this.#settleError(isCalledOff(ctx), generation, start, error),
    );
  }

  #watchGeneration(generation: number): void {
    this.#watchedGeneration = generation;
    this.#onValue = (value) => this.#settleValue(generation, NaN, value);
    this.#onError = (error) => this.#settleError(false, generation, NaN, error);
  }

  /** Records a call that threw `error`, and rethrows it. */
  #settleError(calledOff: boolean, generation: number, start: number, error: unknown): never {
    // The caller's own abort and unhandled errors count neither way.
    if (calledOff || !this.#classify(this.#o.handle, error, generation)) this.#ignore(generation);
    else this.#settle(generation, start, true, true, error);
    throw error;
  }

  /** Records a call that returned `value` (and returns it). */
  #settleValue(generation: number, start: number, value: unknown): unknown {
    const failed = this.#o.handleResult !== undefined && this.#classify(this.#o.handleResult, value, generation);
    this.#settle(generation, start, failed, false, value);
    return value;
  }

  /** Runs a `handle`/`handleResult` predicate; one that throws frees the call's trial slot first. */
  #classify(predicate: ((x: unknown) => boolean) | undefined, x: unknown, generation: number): boolean {
    if (predicate === undefined) return true;
    try {
      return predicate(x);
    } catch (error) {
      this.#ignore(generation);
      throw error;
    }
  }

  /** Records how an admitted call ended: `result` is what it threw (`thrown`) or returned. */
  #settle(generation: number, start: number, failed: boolean, thrown: boolean, result: unknown): void {
    const o = this.#o;
    const timed = start === start; // not NaN
    const end = timed || o.windowDuration !== undefined ? now() : 0;
    const duration = end - start;
    const slow = o.slowCallDuration !== undefined && duration >= o.slowCallDuration;
    // An untimed call (nobody listened when it started) is reported without a duration, never NaN.
    if (!failed) {
      if (this.listeners.success !== undefined) this.emit('success', timed ? { duration } : {});
    } else if (this.listeners.failure !== undefined) {
      const payload: { duration?: number; error?: unknown; value?: unknown } = thrown ? { error: result } : { value: result };
      if (timed) payload.duration = duration;
      this.emit('failure', payload);
    }
    // A result from before the last state change must not move the state again.
    if (generation !== this.#generation) return;
    if (this.#phase === 'half-open') {
      if (failed || (slow && o.slowRate !== undefined)) return this.#open(thrown, result);
      this.#trials--;
      // With a store, a success that came after its trial's lease expired closes nothing here.
      if (!this.#fleet?.ended(true) && ++this.#successes >= o.successThreshold) this.#close('half-open');
      return;
    }
    const w = this.#window;
    w.recordAt((failed ? Bit.FAILED : 0) | (slow ? Bit.SLOW : 0), end);
    this.#consecutive = failed ? this.#consecutive + 1 : 0;
    const trip =
      o.failureRate === undefined
        ? this.#consecutive >= o.failureThreshold
        : w.calls >= o.minimumCalls && w.failures / w.calls >= o.failureRate;
    if (trip || (o.slowRate !== undefined && w.calls >= o.minimumCalls && w.slow / w.calls >= o.slowRate)) {
      this.#open(thrown, result);
    }
  }

  #ignore(generation: number): void {
    if (generation === this.#generation && this.#phase === 'half-open') {
      this.#trials--;
      this.#fleet?.ended(false);
    }
  }

  /** Moves an open circuit whose wait has passed to half-open. */
  #sync(t: number): void {
    if (this.#phase !== 'open' || t < this.#dueAt) return;
    if (this.#enter('half-open', 'open')) this.emit('halfOpen', NO_PAYLOAD);
  }

  /** Opens the circuit (from closed or half-open) on the failure `result`. */
  #open(thrown: boolean, result: unknown): void {
    const openFor = (this.#openFor = this.#o.openDuration(++this.#opens));
    this.#fleet?.opened(openFor);
    this.#dueAt = now() + openFor;
    this.#cause = thrown ? result : undefined;
    if (this.#enter('open', this.#phase) && this.listeners.open !== undefined) this.emit('open', thrown ? { error: result } : { value: result });
  }

  /** @internal The fleet's circuit is open: until `dueAt`, after `opens` openings. */
  adopt(dueAt: number, openFor: number, opens: number): void {
    this.#opens = opens;
    this.#openFor = openFor;
    this.#dueAt = dueAt;
    this.#cause = undefined;
    if (this.#enter('open', this.#phase) && this.listeners.open !== undefined) this.emit('open', NO_PAYLOAD);
  }

  #close(from: CircuitState): void {
    this.#opens = this.#consecutive = 0;
    this.#cause = undefined;
    this.#window.clearAll();
    if (this.#enter('closed', from) && from !== 'closed') this.emit('close', NO_PAYLOAD);
  }

  /**
   * Enters `phase` as a new generation with no trials, and tells
   * `stateChange` listeners of the move from `from` (none when `from` is
   * `phase`). Returns whether the move still stands, so the event that
   * follows it (`open`, `halfOpen`, `close`) is not sent for a move a listener
   * already superseded (by reset, isolate).
   */
  #enter(phase: Phase, from: CircuitState): boolean {
    this.#phase = phase;
    this.#generation++;
    this.#trials = this.#successes = 0;
    return this.#change(from, phase);
  }

  /** Tells `stateChange` listeners of a move to `to` (unless it is none); returns whether it still stands. */
  #change(from: CircuitState, to: CircuitState): boolean {
    const generation = this.#generation;
    if (from !== to && this.listeners.stateChange !== undefined) this.emit('stateChange', { from, to });
    return generation === this.#generation;
  }
}
