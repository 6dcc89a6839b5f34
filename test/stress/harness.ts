// Random pipelines under random faults. One seed decides everything: which
// policies, in which order, with which options; what every attempt of every
// call does; when callers abort and when the clock jumps. The invariants
// checked hold for any pipeline, so any seed that breaks one is a bug.
// Runs under vitest fake timers (the caller switches them on).
import { getEventListeners, setMaxListeners } from 'node:events';
import { vi } from 'vitest';
import {
  Bulkhead,
  CircuitBreaker,
  RateLimiter,
  ResilienceError,
  RetryBudget,
  chaos,
  hedge,
  retryWithBackoff,
  withFallback,
  withTimeout,
  wrap,
  type Policy,
  type PolicyContext,
} from '../../src/index.js';
import { prng } from '../reliability/fixtures/watch.js';

/** An error thrown by fn itself. */
export class FnError extends Error {
  override name = 'FnError';
}
/** The error chaos injects. */
export class ChaosFault extends Error {
  override name = 'ChaosFault';
}
const FALLBACK = 'fallback';
const CHAOS_RESULT = 'chaos-result';
/** Non-Error values fn throws. */
const THROWN_VALUES = new Set<unknown>(['x', undefined, 42]);

export interface Report {
  readonly seed: number;
  readonly pipeline: string;
  readonly calls: number;
  readonly outcomes: Record<string, number>;
  readonly violations: string[];
}

type Rng = () => number;

class Dice {
  constructor(readonly next: Rng) {}
  chance(p: number): boolean {
    return this.next() < p;
  }
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
}

interface Built {
  readonly pipeline: Policy<unknown>;
  readonly description: string;
  /** Samples invariants that can be read at any time. */
  readonly check: () => void;
  /** The kinds of policy in the pipeline. */
  readonly kinds: ReadonlySet<string>;
  /** Most calls of fn one call may make: the product of every retry's and hedge's attempts. */
  readonly maxAttempts: number;
  /** The deadline of an aggressive timeout that is the outermost policy, if it is. */
  readonly outerDeadline: number | undefined;
  /** Pokes a policy from outside (isolate or reset a breaker). */
  readonly poke: (d: Dice) => void;
}

/** Options of {@link runScenario}. */
export interface ScenarioOptions {
  /** A broken policy added to the pipeline, to prove the checks catch it. */
  readonly inject?: Policy<unknown>;
  /** Where `inject` goes. @default 'outermost' */
  readonly at?: 'outermost' | 'innermost';
}

const json = (o: object): string => JSON.stringify(o, (_, v: unknown) => (v === Infinity ? 'Infinity' : typeof v === 'function' ? 'fn' : v));

/**
 * A probe: a user policy placed right inside a bulkhead or a breaker, so it
 * sees exactly what they let through.
 */
function probe(onEnter: () => void, onExit: () => void): Policy {
  return {
    execute<T>(fn: (ctx: PolicyContext) => T | PromiseLike<T>, signal?: AbortSignal): Promise<T> {
      onEnter();
      let result: Promise<T>;
      try {
        // Without `attempt` and `signal` here, wrap keeps the ones of the enclosing context.
        result = Promise.resolve(fn((signal === undefined ? {} : { signal }) as PolicyContext));
      } catch (error) {
        result = Promise.reject(error);
      }
      result.then(onExit, onExit);
      return result;
    },
  };
}

function buildPipeline(d: Dice, violations: string[]): Built {
  const kinds = ['retry', 'timeout', 'timeout', 'fallback', 'breaker', 'bulkhead', 'limiter', 'hedge', 'chaos'] as const;
  const chosen = kinds.filter(() => d.chance(0.55));
  if (chosen.length === 0) chosen.push(d.pick(kinds));
  // Shuffle (Fisher–Yates).
  for (let i = chosen.length - 1; i > 0; i--) {
    const j = d.int(0, i);
    [chosen[i], chosen[j]] = [chosen[j]!, chosen[i]!];
  }
  const policies: Policy<unknown>[] = [];
  const names: string[] = [];
  const checks: Array<() => void> = [];
  const pokes: Array<(d: Dice) => void> = [];
  let maxAttempts = 1;
  let outerDeadline: number | undefined;
  const budget = d.chance(0.3) ? new RetryBudget({ ratio: d.pick([0.1, 0.5, 1]), minRetriesPerSecond: d.int(0, 20) }) : undefined;
  for (const kind of chosen) {
    switch (kind) {
      case 'retry': {
        const o = {
          maxRetries: d.pick([0, 1, 2, 3, 5, Infinity]),
          initialDelay: d.pick([0, 1, 5, 20]),
          maxDelay: d.pick([10, 50, 200]),
          jitter: d.pick(['none', 'full', 'equal', 'decorrelated'] as const),
          maxElapsedTime: d.pick([Infinity, 300, 1_000]),
          random: d.next,
          ...(budget !== undefined ? { budget } : {}),
          ...(d.chance(0.3) ? { handle: (e: unknown) => e instanceof FnError } : {}),
        };
        // Infinity retries only with something that ends them: a time limit.
        if (o.maxRetries === Infinity && o.maxElapsedTime === Infinity) o.maxElapsedTime = 500;
        policies.push(retryWithBackoff(o));
        maxAttempts *= o.maxRetries + 1;
        names.push(`retry(${o.maxRetries},${o.initialDelay},${o.jitter})`);
        break;
      }
      case 'timeout': {
        const ms = d.pick([2, 10, 50, 200, 1_000]);
        const strategy = d.pick(['aggressive', 'cooperative'] as const);
        policies.push(withTimeout(ms, { strategy }));
        if (policies.length === 1 && strategy === 'aggressive') outerDeadline = ms;
        names.push(`timeout(${ms},${strategy})`);
        break;
      }
      case 'fallback': {
        const handle = d.chance(0.3) ? (e: unknown) => e instanceof FnError : undefined;
        policies.push(withFallback(d.chance(0.5) ? FALLBACK : () => FALLBACK, handle ? { handle } : {}));
        names.push('fallback');
        break;
      }
      case 'breaker': {
        const o = {
          ...(d.chance(0.5) ? { failureThreshold: d.int(1, 10) } : { failureRateThreshold: d.pick([0.2, 0.5, 1]), minimumCalls: d.int(1, 20) }),
          ...(d.chance(0.3) ? { windowDuration: d.pick([100, 1_000]) } : { windowSize: d.int(20, 100) }),
          openDuration: d.chance(0.3) ? (opens: number) => 10 * 2 ** Math.min(opens, 6) : d.pick([5, 50, 300]),
          halfOpenMaxCalls: d.int(1, 3),
          successThreshold: d.int(1, 3),
          ...(d.chance(0.3) ? { slowCallDuration: 30, slowCallRateThreshold: 0.5 } : {}),
        };
        const breaker = new CircuitBreaker(o);
        policies.push(breaker);
        // Right inside the breaker: whatever it lets through must meet it closed or half-open.
        policies.push(
          probe(
            () => {
              const state = breaker.state;
              if (state === 'open' || state === 'isolated') violations.push(`breaker admitted a call while ${state}`);
            },
            () => {},
          ),
        );
        pokes.push((d) => {
          if (d.chance(0.2)) return breaker.reset();
          const release = breaker.isolate();
          setTimeout(release, d.pick([0, 10, 100]));
        });
        names.push(`breaker(${json(o)})`);
        break;
      }
      case 'bulkhead': {
        const o = {
          maxConcurrent: d.int(1, 8),
          maxQueue: d.pick([0, 1, 5, 20, Infinity]),
          ...(d.chance(0.5) ? { queueTimeout: d.pick([1, 20, 100]) } : {}),
        };
        const bulkhead = new Bulkhead(o);
        let active = 0;
        policies.push(bulkhead);
        policies.push(
          probe(
            () => {
              if (++active > o.maxConcurrent) violations.push(`bulkhead ran ${active} > maxConcurrent ${o.maxConcurrent}`);
            },
            () => void active--,
          ),
        );
        checks.push(() => {
          if (bulkhead.queued > o.maxQueue) violations.push(`bulkhead queued ${bulkhead.queued} > maxQueue ${o.maxQueue}`);
          if (bulkhead.active > o.maxConcurrent) violations.push(`bulkhead.active ${bulkhead.active} > ${o.maxConcurrent}`);
        });
        names.push(`bulkhead(${json(o)})`);
        break;
      }
      case 'limiter': {
        const o = { limit: d.int(1, 20), interval: d.pick([10, 50, 200]), maxWait: d.pick([0, 20, 300, Infinity]) };
        policies.push(new RateLimiter(o));
        names.push(`limiter(${json(o)})`);
        break;
      }
      case 'hedge': {
        const o = { delay: d.pick([0, 1, 10, 50]), maxHedges: d.int(0, 3), ...(budget !== undefined ? { budget } : {}) };
        policies.push(hedge(o));
        maxAttempts *= o.maxHedges + 1;
        names.push(`hedge(${o.delay},${o.maxHedges})`);
        break;
      }
      case 'chaos': {
        const o = {
          faultRate: d.pick([0, 0.1, 0.3]),
          error: () => new ChaosFault(),
          latency: [0, d.pick([1, 30])] as const,
          latencyRate: d.pick([0.2, 1]),
          ...(d.chance(0.2) ? { result: CHAOS_RESULT, resultRate: 0.1 } : {}),
          seed: d.int(0, 1e6),
        };
        policies.push(chaos(o));
        names.push(`chaos(${o.faultRate})`);
        break;
      }
    }
  }
  return {
    kinds: new Set(chosen),
    maxAttempts,
    outerDeadline,
    pipeline: wrap(...policies),
    description: names.join(' > '),
    check: () => checks.forEach((c) => c()),
    poke: (d) => pokes.forEach((p) => p(d)),
  };
}

/** What one attempt of fn does. */
function attemptBehaviour(d: Dice, id: number, ctx: PolicyContext, timers: Set<ReturnType<typeof setTimeout>>): unknown {
  const later = (ms: number, settle: () => void): void => {
    const t = setTimeout(() => {
      timers.delete(t);
      settle();
    }, ms);
    timers.add(t);
  };
  const r = d.next();
  if (r < 0.3) return `ok:${id}`;
  if (r < 0.45) return new Promise((resolve) => later(d.int(0, 40), () => resolve(`ok:${id}`)));
  if (r < 0.55) throw new FnError(`sync ${id}`);
  if (r < 0.65) return new Promise((_, reject) => later(d.int(0, 40), () => reject(new FnError(`async ${id}`))));
  if (r < 0.68) throw d.pick([...THROWN_VALUES]);
  if (r < 0.72) return { then: (ok: (v: unknown) => void) => { ok(`ok:${id}`); ok('twice'); } };
  if (r < 0.8) {
    // Slow, ignoring its signal.
    return new Promise((resolve) => later(d.int(50, 400), () => resolve(`ok:${id}`)));
  }
  // Hangs until its signal aborts (a cooperative fn), or gives up after a long while.
  const signal = ctx.signal;
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(t);
      timers.delete(t);
      reject(signal.reason);
    };
    const t = setTimeout(() => {
      timers.delete(t);
      signal.removeEventListener('abort', onAbort);
      if (d.chance(0.5)) resolve(`ok:${id}`);
      else reject(new FnError(`gave up ${id}`));
    }, 5_000);
    timers.add(t);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Runs `calls` calls through one random pipeline. Fake timers must be on.
 * Returns what it saw; `violations` lists every broken invariant.
 */
export async function runScenario(seed: number, calls: number, options: ScenarioOptions = {}): Promise<Report> {
  const d = new Dice(prng(seed));
  const violations: string[] = [];
  const built = buildPipeline(d, violations);
  const { check, poke } = built;
  const inner = options.at === 'innermost';
  const pipeline =
    options.inject === undefined ? built.pipeline : inner ? wrap(built.pipeline, options.inject) : wrap(options.inject, built.pipeline);
  const description =
    options.inject === undefined ? built.description : inner ? `${built.description} > injected` : `injected > ${built.description}`;
  const shared = new AbortController(); // long-lived, never aborted: must end with no listener
  // Many calls in flight at once legitimately listen on it; only what is left at the end counts.
  setMaxListeners(0, shared.signal);
  const own: AbortSignal[] = [];
  const fnTimers = new Set<ReturnType<typeof setTimeout>>();
  const outcomes: Record<string, number> = {};
  const settled = new Int32Array(calls);

  // An outcome only a given policy can produce.
  const producer: Record<string, string> = {
    fallback: 'fallback',
    'chaos result': 'chaos',
    'chaos fault': 'chaos',
    TimeoutError: 'timeout',
    BrokenCircuitError: 'breaker',
    IsolatedCircuitError: 'breaker',
    BulkheadRejectedError: 'bulkhead',
    RateLimitedError: 'limiter',
  };
  const count = (id: number, kind: string): void => {
    const needs = producer[kind];
    if (needs !== undefined && !built.kinds.has(needs)) violations.push(`call ${id}: ${kind} from a pipeline without a ${needs}`);
    outcomes[kind] = (outcomes[kind] ?? 0) + 1;
  };

  const classify = (id: number, reason: unknown, callerReason: unknown): string | undefined => {
    if (callerReason !== undefined && reason === callerReason) return 'caller abort';
    if (reason instanceof FnError) return 'fn error';
    if (reason instanceof ChaosFault) return 'chaos fault';
    if (reason instanceof ResilienceError) return reason.name;
    if (THROWN_VALUES.has(reason)) return 'fn threw a non-Error';
    violations.push(`call ${id} rejected with a foreign reason: ${describe(reason)}`);
    return undefined;
  };

  // A group of callers sharing one signal that is aborted at some point (a request and its sub-calls).
  let group = new AbortController();
  setMaxListeners(0, group.signal); // its calls in flight listen on it; only what is left counts
  own.push(group.signal);
  for (let id = 0; id < calls; id++) {
    // The caller: no signal, the shared long-lived one, a group's, or its own (maybe aborted later,
    // with a reason or without one, when the reason is an AbortError DOMException).
    const mode = d.pick(['none', 'shared', 'group', 'own', 'own'] as const);
    let signal: AbortSignal | undefined;
    if (mode === 'shared') signal = shared.signal;
    else if (mode === 'group') {
      signal = group.signal;
      if (d.chance(0.05)) {
        const ending = group;
        setTimeout(() => ending.abort(d.chance(0.5) ? new Error('group aborted') : undefined), d.pick([0, 5, 50]));
        group = new AbortController();
        setMaxListeners(0, group.signal);
        own.push(group.signal);
      }
    } else if (mode === 'own') {
      const controller = new AbortController();
      signal = controller.signal;
      own.push(signal);
      if (d.chance(0.4)) {
        const reason = d.chance(0.8) ? new Error(`caller ${id} aborted`) : undefined;
        const at = d.pick([0, 1, 5, 30, 200]);
        if (at === 0 && d.chance(0.3)) controller.abort(reason);
        else setTimeout(() => controller.abort(reason), at);
      }
    }
    const callSignal = signal;
    let attempts = 0;
    const startedAt = performance.now();
    const settle = (): void => {
      if (++settled[id]! !== 1) return;
      if (attempts > built.maxAttempts) violations.push(`call ${id}: ${attempts} attempts, more than the pipeline allows (${built.maxAttempts})`);
      const took = performance.now() - startedAt;
      if (built.outerDeadline !== undefined && took > built.outerDeadline) {
        violations.push(`call ${id}: took ${took} ms under an outermost aggressive timeout of ${built.outerDeadline} ms`);
      }
    };
    const fn = (ctx: PolicyContext): unknown => {
      attempts++;
      if (callSignal?.aborted) violations.push(`call ${id}: an attempt started after the caller aborted`);
      else if (ctx.signal.aborted) violations.push(`call ${id}: an attempt started with its signal already aborted`);
      return attemptBehaviour(d, id, ctx, fnTimers);
    };
    void pipeline.execute(fn, signal).then(
        (value) => {
          settle();
          const kind = value === `ok:${id}` ? 'ok' : value === FALLBACK ? 'fallback' : value === CHAOS_RESULT ? 'chaos result' : undefined;
          if (kind === undefined) violations.push(`call ${id} resolved with a foreign value: ${describe(value)}`);
          else count(id, kind);
          // The caller's own abort is never replaced by a fallback.
          if (kind === 'fallback' && callSignal?.aborted === true) violations.push(`call ${id}: a fallback answered after the caller aborted`);
        },
        (reason: unknown) => {
          settle();
          const kind = classify(id, reason, callSignal?.aborted === true ? callSignal.reason : undefined);
          if (kind !== undefined) count(id, kind);
        },
      );

    // Time moves on: mostly bursts of calls at one instant, sometimes a step, rarely a jump.
    const r = d.next();
    if (r < 0.6) continue;
    check();
    if (r < 0.965) await vi.advanceTimersByTimeAsync(d.int(0, 20));
    else if (r < 0.97) poke(d);
    else if (r < 0.985) await vi.advanceTimersByTimeAsync(d.int(500, 5_000)); // a jump: every due timer fires
    else vi.setSystemTime(Date.now() + d.pick([-86_400_000, -1_000, 3_600_000])); // the wall clock jumps; monotonic time must not care
  }

  // Let everything run out. fn's slowest path is 5 s, but a bulkhead with an endless queue and
  // no queueTimeout serves hung calls a few at a time: give it up to an hour of fake time.
  for (let i = 0; i < 720 && settled.some((n) => n === 0); i++) {
    check();
    await vi.advanceTimersByTimeAsync(5_000);
  }
  for (let id = 0; id < calls; id++) {
    if (settled[id] !== 1) violations.push(`call ${id} settled ${settled[id]} times`);
  }
  const left = getEventListeners(shared.signal, 'abort').length;
  if (left !== 0) violations.push(`${left} abort listener(s) left on the shared caller signal`);
  const leaky = own.filter((s) => !s.aborted && getEventListeners(s, 'abort').length > 0).length;
  if (leaky !== 0) violations.push(`${leaky} caller signal(s) left with abort listeners`);
  // fn's own timers are done; any timer left belongs to a policy whose call is over.
  await vi.advanceTimersByTimeAsync(10_000);
  if (fnTimers.size !== 0) violations.push(`${fnTimers.size} fn timers still pending`);
  const timers = vi.getTimerCount();
  if (timers !== 0) violations.push(`${timers} timer(s) left after every call settled`);
  return { seed, pipeline: description, calls, outcomes, violations: [...new Set(violations)].slice(0, 20) };
}

function describe(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
