import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { settle } from '../test/helpers/settle.js';
import { CircuitBreaker } from './circuit-breaker.js';
import type { CircuitBreakerEvents } from './circuit-breaker.js';
import { BrokenCircuitError, IsolatedCircuitError } from './errors.js';
import { wrap } from './policy.js';
import { hedge } from './hedge.js';
import { withTimeout } from './timeout.js';

const ok = (): string => 'ok';
const boom = (): never => {
  throw new Error('boom');
};

function deferred<T = unknown>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((a, b) => {
    resolve = a;
    reject = b;
  });
  return { promise, resolve, reject };
}

/** Runs `fn` through the breaker; resolves with its value or the error it rejected with. */
function attempt(breaker: CircuitBreaker, fn: () => unknown = ok): Promise<unknown> {
  return breaker.execute(fn).catch((error: unknown) => error);
}

async function failTimes(breaker: CircuitBreaker, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await attempt(breaker, boom);
}

/** Records every event of a breaker, in order, as `name` or `name:payload`. */
function record(breaker: CircuitBreaker): string[] {
  const log: string[] = [];
  const names: (keyof CircuitBreakerEvents)[] = ['stateChange', 'open', 'halfOpen', 'close', 'rejected'];
  for (const name of names) {
    breaker.on(name, (payload: object) => {
      const p = payload as Record<string, unknown>;
      log.push(name === 'stateChange' ? `${String(p.from)}->${String(p.to)}` : name === 'rejected' ? `rejected:${String(p.state)}` : name);
    });
  }
  return log;
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('CircuitBreaker options', () => {
  it('rejects rate thresholds outside (0, 1], naming the option', () => {
    for (const bad of [0, -0.1, 1.01, NaN, Infinity]) {
      expect(() => new CircuitBreaker({ failureRateThreshold: bad })).toThrow(/failureRateThreshold/);
      expect(() => new CircuitBreaker({ slowCallDuration: 10, slowCallRateThreshold: bad })).toThrow(/slowCallRateThreshold/);
    }
    expect(() => new CircuitBreaker({ failureRateThreshold: 0 })).toThrow(RangeError);
    expect(new CircuitBreaker({ failureRateThreshold: 1 }).state).toBe('closed');
  });

  it('rejects negative, zero and fractional sizes and counts', () => {
    expect(() => new CircuitBreaker({ windowSize: -1 })).toThrow(/windowSize/);
    expect(() => new CircuitBreaker({ windowSize: 0 })).toThrow(/windowSize/);
    expect(() => new CircuitBreaker({ windowSize: 2.5 })).toThrow(/windowSize/);
    expect(() => new CircuitBreaker({ windowDuration: 0 })).toThrow(/windowDuration/);
    expect(() => new CircuitBreaker({ windowDuration: -5 })).toThrow(/windowDuration/);
    expect(() => new CircuitBreaker({ minimumCalls: 0 })).toThrow(/minimumCalls/);
    expect(() => new CircuitBreaker({ failureThreshold: 0 })).toThrow(/failureThreshold/);
    expect(() => new CircuitBreaker({ halfOpenMaxCalls: 0 })).toThrow(/halfOpenMaxCalls/);
    expect(() => new CircuitBreaker({ successThreshold: -1 })).toThrow(/successThreshold/);
    expect(() => new CircuitBreaker({ openDuration: -1 })).toThrow(/openDuration/);
    expect(() => new CircuitBreaker({ slowCallDuration: -1 })).toThrow(/slowCallDuration/);
  });

  it('rejects values of the wrong type with a TypeError', () => {
    expect(() => new CircuitBreaker({ openDuration: '10' as never })).toThrow(TypeError);
    expect(() => new CircuitBreaker({ handle: true as never })).toThrow(/handle/);
    expect(() => new CircuitBreaker({ handleResult: 1 as never })).toThrow(/handleResult/);
    expect(() => new CircuitBreaker(null as never)).toThrow(TypeError);
    expect(() => new CircuitBreaker({ initialState: { state: 'open' } as never })).toThrow(/initialState/);
  });

  it('rejects minimumCalls larger than a count window, but not larger than a time window', () => {
    expect(() => new CircuitBreaker({ windowSize: 5, minimumCalls: 6, failureRateThreshold: 0.5 })).toThrow(/minimumCalls/);
    expect(() => new CircuitBreaker({ windowDuration: 1_000, minimumCalls: 500 })).not.toThrow();
  });

  it('lowers the default minimumCalls to a smaller count window', async () => {
    const breaker = new CircuitBreaker({ windowSize: 4, failureRateThreshold: 0.5 });
    await attempt(breaker);
    await attempt(breaker);
    await attempt(breaker, boom);
    expect(breaker.state).toBe('closed');
    await attempt(breaker, boom); // 2 of 4
    expect(breaker.state).toBe('open');
  });

  it('needs slowCallDuration for slowCallRateThreshold', () => {
    expect(() => new CircuitBreaker({ slowCallRateThreshold: 0.5 })).toThrow(/slowCallDuration/);
  });

  it('treats a key set to undefined as its default', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: undefined, openDuration: undefined } as never);
    await failTimes(breaker, 5);
    expect(breaker.state).toBe('open');
    expect(((await attempt(breaker)) as BrokenCircuitError).retryAfter).toBe(30_000);
  });
});

describe('CircuitBreaker consecutive failures', () => {
  it('opens after failureThreshold consecutive failures, and a success starts the count again', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 3 });
    await failTimes(breaker, 2);
    await attempt(breaker);
    await failTimes(breaker, 2);
    expect(breaker.state).toBe('closed');
    await failTimes(breaker, 1);
    expect(breaker.state).toBe('open');
  });

  it('rejects at once while open without calling fn, telling how long until trials', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, openDuration: 1_000 });
    const log = record(breaker);
    await failTimes(breaker, 1);
    vi.advanceTimersByTime(400);
    const fn = vi.fn(ok);
    const error = await attempt(breaker, fn);
    expect(fn).not.toHaveBeenCalled();
    expect(error).toBeInstanceOf(BrokenCircuitError);
    expect(error).toMatchObject({ name: 'BrokenCircuitError', message: 'Circuit is open', retryAfter: 600 });
    expect((error as Error).cause).toEqual(new Error('boom'));
    expect(log).toEqual(['closed->open', 'open', 'rejected:open']);
    expect(breaker.stats()).toMatchObject({ state: 'open', calls: 1, failures: 1, rejections: 1 });
  });

  it('builds rejections cheaply, without a stack, yet restores Error.stackTraceLimit', async () => {
    const limit = Error.stackTraceLimit;
    const breaker = new CircuitBreaker({ failureThreshold: 1 });
    await failTimes(breaker, 1);
    const error = (await attempt(breaker)) as BrokenCircuitError;
    expect(Error.stackTraceLimit).toBe(limit);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('BrokenCircuitError');
    expect(error.message).toBe('Circuit is open');
    expect(error.retryAfter).toBe(30_000);
    expect(String(error)).toBe('BrokenCircuitError: Circuit is open');
  });

  it('reads half-open once openDuration has passed, with no call and no timer', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, openDuration: 1_000 });
    const log = record(breaker);
    await failTimes(breaker, 1);
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(999);
    expect(breaker.state).toBe('open');
    vi.advanceTimersByTime(1);
    expect(breaker.state).toBe('half-open');
    expect(breaker.state).toBe('half-open');
    expect(log).toEqual(['closed->open', 'open', 'open->half-open', 'halfOpen']);
  });

  it('closes on a successful trial and clears the counts', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 2, openDuration: 100 });
    const log = record(breaker);
    await failTimes(breaker, 2);
    vi.advanceTimersByTime(100);
    expect(await attempt(breaker)).toBe('ok');
    expect(breaker.stats()).toEqual({ state: 'closed', calls: 0, failures: 0, slowCalls: 0, rejections: 0 });
    expect(log).toEqual(['closed->open', 'open', 'open->half-open', 'halfOpen', 'half-open->closed', 'close']);
    await failTimes(breaker, 1);
    expect(breaker.state).toBe('closed');
  });

  it('reopens on a failed trial, with openDuration(opens) growing until the circuit closes', async () => {
    const openDuration = vi.fn((opens: number) => opens * 1_000);
    const breaker = new CircuitBreaker({ failureThreshold: 1, openDuration });
    const log = record(breaker);
    await failTimes(breaker, 1);
    vi.advanceTimersByTime(1_000);
    await failTimes(breaker, 1);
    expect(breaker.state).toBe('open');
    expect(((await attempt(breaker)) as BrokenCircuitError).retryAfter).toBe(2_000);
    vi.advanceTimersByTime(2_000);
    await failTimes(breaker, 1);
    vi.advanceTimersByTime(2_999);
    expect(breaker.state).toBe('open');
    vi.advanceTimersByTime(1);
    await attempt(breaker);
    expect(breaker.state).toBe('closed');
    await failTimes(breaker, 1);
    expect(openDuration.mock.calls.map((c) => c[0])).toEqual([1, 2, 3, 1]);
    expect(log.filter((e) => e.includes('->'))).toEqual([
      'closed->open', 'open->half-open', 'half-open->open', 'open->half-open', 'half-open->open',
      'open->half-open', 'half-open->closed', 'closed->open',
    ]);
  });

  it('treats a NaN or negative custom openDuration as no wait', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, openDuration: () => NaN });
    await failTimes(breaker, 1);
    expect(breaker.state).toBe('half-open');
  });

  it('treats a custom openDuration that returns no number as no wait', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, openDuration: () => '5000' as unknown as number });
    await failTimes(breaker, 1);
    expect(breaker.state).toBe('half-open');
    expect(breaker.toJSON().openDuration).toBe(0);
  });

  it('says retryAfter in whole ms, rounded up', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, openDuration: () => 999.25 });
    await failTimes(breaker, 1);
    expect(((await attempt(breaker)) as BrokenCircuitError).retryAfter).toBe(1_000);
    vi.advanceTimersByTime(999);
    expect(((await attempt(breaker)) as BrokenCircuitError).retryAfter).toBe(1);
    const halfOpen = new CircuitBreaker({ failureThreshold: 1, openDuration: 0.5 });
    await failTimes(halfOpen, 1);
    vi.advanceTimersByTime(1);
    void halfOpen.execute(() => new Promise(() => {}));
    expect(((await attempt(halfOpen)) as BrokenCircuitError).retryAfter).toBe(1);
  });

  it('waits the default 30 s when a custom openDuration throws, keeping the call\'s own error', async () => {
    const breaker = new CircuitBreaker({
      failureThreshold: 1,
      openDuration: () => {
        throw new Error('schedule bug');
      },
    });
    expect(((await attempt(breaker, boom)) as Error).message).toBe('boom');
    expect(((await attempt(breaker)) as BrokenCircuitError).retryAfter).toBe(30_000);
  });

  it('stays open until reset with openDuration Infinity', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, openDuration: Infinity });
    await failTimes(breaker, 1);
    vi.advanceTimersByTime(1e12);
    expect(breaker.state).toBe('open');
    expect(((await attempt(breaker)) as BrokenCircuitError).retryAfter).toBe(Infinity);
    breaker.reset();
    expect(breaker.state).toBe('closed');
  });
});

describe('CircuitBreaker half-open', () => {
  async function halfOpen(options: ConstructorParameters<typeof CircuitBreaker>[0] = {}): Promise<CircuitBreaker> {
    const breaker = new CircuitBreaker({ failureThreshold: 1, openDuration: 1_000, ...options });
    await failTimes(breaker, 1);
    vi.advanceTimersByTime(1_000);
    expect(breaker.state).toBe('half-open');
    return breaker;
  }

  it('admits exactly halfOpenMaxCalls trials at once and rejects the rest at once', async () => {
    const breaker = await halfOpen({ halfOpenMaxCalls: 2, successThreshold: 2 });
    const log = record(breaker);
    const a = deferred();
    const b = deferred();
    const fn = vi.fn();
    const t1 = settle(breaker.execute(() => a.promise));
    const t2 = settle(breaker.execute(() => b.promise));
    const third = await attempt(breaker, fn);
    expect(fn).not.toHaveBeenCalled();
    expect(third).toBeInstanceOf(BrokenCircuitError);
    expect((third as BrokenCircuitError).retryAfter).toBe(1_000);
    expect((third as BrokenCircuitError).message).toMatch(/half-open/);
    expect(log).toEqual(['rejected:half-open']);
    a.resolve(1);
    await t1.promise;
    expect(breaker.state).toBe('half-open');
    // A slot is free again: another trial is admitted.
    expect(await attempt(breaker)).toBe('ok');
    expect(breaker.state).toBe('closed');
    b.resolve(2);
    await t2.promise;
    expect(breaker.state).toBe('closed');
  });

  it('needs successThreshold successful trials to close', async () => {
    const breaker = await halfOpen({ successThreshold: 3 });
    await attempt(breaker);
    await attempt(breaker);
    expect(breaker.state).toBe('half-open');
    await attempt(breaker);
    expect(breaker.state).toBe('closed');
  });

  it('reopens on any failed trial, even after successes', async () => {
    const breaker = await halfOpen({ successThreshold: 3 });
    await attempt(breaker);
    await attempt(breaker);
    await attempt(breaker, boom);
    expect(breaker.state).toBe('open');
  });

  it('admits a new trial when one has hung for another openDuration, and ignores its late result', async () => {
    const breaker = await halfOpen();
    const hung = deferred();
    const trial = settle(breaker.execute(() => hung.promise));
    vi.advanceTimersByTime(999);
    expect(await attempt(breaker)).toBeInstanceOf(BrokenCircuitError);
    vi.advanceTimersByTime(1);
    const log = record(breaker);
    const fresh = deferred();
    const replacement = settle(breaker.execute(() => fresh.promise));
    hung.reject(new Error('late'));
    await trial.promise;
    expect(breaker.state).toBe('half-open');
    expect(log).toEqual([]);
    fresh.resolve('ok');
    await replacement.promise;
    expect(breaker.state).toBe('closed');
  });

  it('frees the trial slot on an unhandled error and on the caller\'s abort, counting neither', async () => {
    const breaker = await halfOpen({ handle: (error) => (error as Error).message !== 'ignored' });
    await attempt(breaker, () => Promise.reject(new Error('ignored')));
    expect(breaker.state).toBe('half-open');
    const controller = new AbortController();
    const call = settle(breaker.execute(() => new Promise((_, reject) => controller.signal.addEventListener('abort', () => reject(controller.signal.reason))), controller.signal));
    controller.abort(new Error('caller gave up'));
    await call.promise;
    expect(breaker.state).toBe('half-open');
    expect(await attempt(breaker)).toBe('ok');
    expect(breaker.state).toBe('closed');
  });

  it('frees the trial slot when handle or handleResult throws, rejecting with the predicate\'s error', async () => {
    const bug = new Error('predicate bug');
    const breaker = await halfOpen({
      handle: (error) => {
        if ((error as Error).message === 'classify me') throw bug;
        return true;
      },
      handleResult: (value) => {
        if (value === 'throw') throw bug;
        return false;
      },
    });
    expect(await attempt(breaker, () => Promise.reject(new Error('classify me')))).toBe(bug);
    expect(await attempt(breaker, () => 'throw')).toBe(bug);
    expect(breaker.state).toBe('half-open');
    expect(await attempt(breaker)).toBe('ok');
    expect(breaker.state).toBe('closed');
  });

  it('does not reopen twice when several trials fail after the circuit reopened', async () => {
    const breaker = await halfOpen({ halfOpenMaxCalls: 3 });
    const log = record(breaker);
    const trials = [deferred(), deferred(), deferred()];
    const calls = trials.map((d) => settle(breaker.execute(() => d.promise)));
    trials[0]!.reject(new Error('1'));
    await calls[0]!.promise;
    const retryAfter = ((await attempt(breaker)) as BrokenCircuitError).retryAfter;
    vi.advanceTimersByTime(10);
    trials[1]!.reject(new Error('2'));
    trials[2]!.resolve('3');
    await Promise.all(calls.map((c) => c.promise));
    expect(log).toEqual(['half-open->open', 'open', 'rejected:open']);
    expect(((await attempt(breaker)) as BrokenCircuitError).retryAfter).toBe(retryAfter - 10);
  });
});

describe('CircuitBreaker concurrency while closed', () => {
  it('opens once when many calls in flight fail together, and ignores their late results', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 3 });
    const log = record(breaker);
    const pending = Array.from({ length: 50 }, () => deferred());
    const calls = pending.map((d) => settle(breaker.execute(() => d.promise)));
    pending.forEach((d, i) => d.reject(new Error(String(i))));
    await Promise.all(calls.map((c) => c.promise));
    expect(calls.every((c) => c.state().status === 'rejected')).toBe(true);
    expect(log).toEqual(['closed->open', 'open']);
    expect(breaker.stats()).toMatchObject({ calls: 3, failures: 3 });
  });

  it('does not let results of calls admitted before a reset touch the new counts', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 2 });
    const pending = [deferred(), deferred()];
    const calls = pending.map((d) => settle(breaker.execute(() => d.promise)));
    breaker.reset();
    pending.forEach((d) => d.reject(new Error('old')));
    await Promise.all(calls.map((c) => c.promise));
    expect(breaker.stats()).toMatchObject({ state: 'closed', calls: 0 });
  });
});

describe('CircuitBreaker failure rate', () => {
  it('opens at failures / calls >= the threshold, never before minimumCalls', async () => {
    const breaker = new CircuitBreaker({ failureRateThreshold: 0.5, minimumCalls: 4, windowSize: 10 });
    await failTimes(breaker, 3);
    expect(breaker.state).toBe('closed');
    await attempt(breaker);
    expect(breaker.stats()).toMatchObject({ state: 'open', calls: 4, failures: 3 });
  });

  it('ignores failureThreshold when a rate is set', async () => {
    const breaker = new CircuitBreaker({ failureRateThreshold: 0.9, failureThreshold: 1, minimumCalls: 2 });
    await attempt(breaker);
    await failTimes(breaker, 1);
    expect(breaker.state).toBe('closed');
  });

  it('counts only the last windowSize calls', async () => {
    const breaker = new CircuitBreaker({ failureRateThreshold: 0.5, minimumCalls: 4, windowSize: 4 });
    await failTimes(breaker, 1);
    for (let i = 0; i < 3; i++) await attempt(breaker);
    expect(breaker.stats()).toMatchObject({ calls: 4, failures: 1 });
    await attempt(breaker);
    expect(breaker.stats()).toMatchObject({ calls: 4, failures: 0 });
    await failTimes(breaker, 1);
    expect(breaker.state).toBe('closed');
    await failTimes(breaker, 1);
    expect(breaker.state).toBe('open');
  });

  it('counts only calls of the last windowDuration in a time window', async () => {
    const breaker = new CircuitBreaker({ failureRateThreshold: 0.5, minimumCalls: 2, windowDuration: 1_000 });
    await failTimes(breaker, 1);
    vi.advanceTimersByTime(1_000);
    expect(breaker.stats()).toMatchObject({ calls: 0, failures: 0 });
    await attempt(breaker);
    await attempt(breaker);
    await failTimes(breaker, 1);
    expect(breaker.state).toBe('closed');
    await failTimes(breaker, 1);
    expect(breaker.state).toBe('open');
  });

  it('never keeps stale buckets after an idle gap of any length', async () => {
    const breaker = new CircuitBreaker({ failureRateThreshold: 1, minimumCalls: 3, windowDuration: 1_000 });
    for (const gap of [150, 1_000, 1_050, 2_500, 10_000_000]) {
      await failTimes(breaker, 1);
      vi.advanceTimersByTime(450);
      await failTimes(breaker, 1);
      expect(breaker.stats()).toMatchObject({ calls: 2, failures: 2 });
      vi.advanceTimersByTime(gap);
      expect(breaker.stats().calls).toBe(gap === 150 ? 2 : 0);
      // Nor do they come back into a fresh count.
      await failTimes(breaker, 1);
      expect(breaker.stats()).toMatchObject(gap === 150 ? { state: 'open', calls: 3 } : { state: 'closed', calls: 1 });
      breaker.reset();
    }
  });

  it('drops a call with its bucket, after at most windowDuration', async () => {
    const breaker = new CircuitBreaker({ windowDuration: 1_000 });
    await failTimes(breaker, 1);
    let seen = 0;
    while (breaker.stats().calls === 1) {
      vi.advanceTimersByTime(10);
      seen += 10;
    }
    expect(seen).toBeGreaterThan(900);
    expect(seen).toBeLessThanOrEqual(1_000);
  });
});

describe('CircuitBreaker slow calls', () => {
  it('opens on the slow-call rate, with the value that tripped it', async () => {
    const breaker = new CircuitBreaker({ slowCallDuration: 100, slowCallRateThreshold: 0.5, minimumCalls: 2 });
    const opened = vi.fn();
    breaker.on('open', opened);
    const slow = (): Promise<string> => new Promise((resolve) => setTimeout(resolve, 100, 'slow'));
    await attempt(breaker);
    const call = settle(breaker.execute(slow));
    await vi.advanceTimersByTimeAsync(100);
    expect(call.state()).toEqual({ status: 'fulfilled', value: 'slow' });
    expect(breaker.stats()).toMatchObject({ state: 'open', calls: 2, failures: 0, slowCalls: 1 });
    expect(opened).toHaveBeenCalledWith({ value: 'slow' });
  });

  it('counts slow calls without a rate threshold, and never opens on them', async () => {
    const breaker = new CircuitBreaker({ slowCallDuration: 50 });
    for (let i = 0; i < 20; i++) {
      const call = breaker.execute(() => new Promise((resolve) => setTimeout(resolve, 60)));
      await vi.advanceTimersByTimeAsync(60);
      await call;
    }
    expect(breaker.stats()).toMatchObject({ state: 'closed', calls: 20, slowCalls: 20 });
  });

  it('combines with consecutive failures', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 2, slowCallDuration: 10, slowCallRateThreshold: 1, minimumCalls: 5 });
    await failTimes(breaker, 2);
    expect(breaker.state).toBe('open');
  });

  it('reopens on a slow trial', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, openDuration: 100, slowCallDuration: 10, slowCallRateThreshold: 1 });
    await failTimes(breaker, 1);
    vi.advanceTimersByTime(100);
    const call = breaker.execute(() => new Promise((resolve) => setTimeout(resolve, 10)));
    await vi.advanceTimersByTimeAsync(10);
    await call;
    expect(breaker.state).toBe('open');
  });
});

describe('CircuitBreaker handle and handleResult', () => {
  it('lets unhandled errors through, counted neither as failure nor success', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 2, handle: (error) => !(error instanceof TypeError) });
    await failTimes(breaker, 1);
    const error = await attempt(breaker, () => {
      throw new TypeError('not counted');
    });
    expect(error).toBeInstanceOf(TypeError);
    expect(breaker.stats()).toMatchObject({ calls: 1, failures: 1 });
    await failTimes(breaker, 1);
    expect(breaker.state).toBe('open');
  });

  it('counts handled results as failures and still returns them', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 2, handleResult: (value) => value === 503 });
    const failures: unknown[] = [];
    breaker.on('failure', (payload) => failures.push(payload));
    expect(await attempt(breaker, () => 503)).toBe(503);
    expect(await attempt(breaker, () => 503)).toBe(503);
    expect(breaker.state).toBe('open');
    expect(failures).toEqual([{ duration: 0, value: 503 }, { duration: 0, value: 503 }]);
  });

  it('never counts the caller\'s own abort, nor a hedge that lost; an enclosing timeout\'s abort is a failure', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1 });
    const hang = ({ signal }: { signal: AbortSignal }): Promise<never> =>
      new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
    const controller = new AbortController();
    const call = settle(breaker.execute(hang, controller.signal));
    controller.abort(new Error('caller gave up'));
    await call.promise;
    expect(call.state().status).toBe('rejected');
    // Two hedged attempts: the second answers, the first is aborted as the loser.
    let n = 0;
    const race = settle(wrap(hedge({ delay: 10 }), breaker).execute((ctx) => (++n === 1 ? hang(ctx) : 'fast')));
    await vi.advanceTimersByTimeAsync(10);
    expect(race.state()).toEqual({ status: 'fulfilled', value: 'fast' });
    expect(breaker.stats()).toMatchObject({ state: 'closed', failures: 0 });
    // A call too slow for a timeout around the breaker has failed: it counts.
    const timedOut = settle(wrap(withTimeout(50), breaker).execute(hang));
    await vi.advanceTimersByTimeAsync(50);
    await timedOut.promise;
    expect(timedOut.state().status).toBe('rejected');
    expect(breaker.state).toBe('open');
  });

  it('counts a timeout inside it as the call\'s own failure', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1 });
    const hang = (): Promise<never> => new Promise(() => {});
    const inner = settle(wrap(breaker, withTimeout(50)).execute(hang));
    await vi.advanceTimersByTimeAsync(50);
    await inner.promise;
    expect(breaker.state).toBe('open');
  });
});

describe('CircuitBreaker isolate and reset', () => {
  it('rejects with IsolatedCircuitError while isolated; nested holds are counted', async () => {
    const breaker = new CircuitBreaker();
    const log = record(breaker);
    const release1 = breaker.isolate();
    const release2 = breaker.isolate();
    const fn = vi.fn();
    const error = await attempt(breaker, fn);
    expect(fn).not.toHaveBeenCalled();
    expect(error).toBeInstanceOf(IsolatedCircuitError);
    expect(error).toMatchObject({ name: 'IsolatedCircuitError', retryAfter: Infinity });
    release1();
    release1();
    expect(breaker.state).toBe('isolated');
    release2();
    expect(breaker.state).toBe('closed');
    expect(log).toEqual(['closed->isolated', 'rejected:isolated', 'isolated->closed', 'close']);
  });

  it('ignores results of calls that started before the isolation', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1 });
    const d = deferred();
    const call = settle(breaker.execute(() => d.promise));
    const release = breaker.isolate();
    d.reject(new Error('late'));
    await call.promise;
    release();
    expect(breaker.stats()).toMatchObject({ state: 'closed', calls: 0 });
  });

  it('reset closes from any state, ends every isolation, and voids old release functions', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1 });
    await failTimes(breaker, 1);
    breaker.reset();
    expect(breaker.stats()).toEqual({ state: 'closed', calls: 0, failures: 0, slowCalls: 0, rejections: 0 });
    const release = breaker.isolate();
    breaker.reset();
    expect(breaker.state).toBe('closed');
    const again = breaker.isolate();
    release();
    expect(breaker.state).toBe('isolated');
    again();
    expect(breaker.state).toBe('closed');
  });
});

describe('CircuitBreaker events', () => {
  it('reports durations of successes and failures', async () => {
    const breaker = new CircuitBreaker();
    const seen: unknown[] = [];
    breaker.on('success', (p) => seen.push(p));
    breaker.on('failure', (p) => seen.push(p));
    const error = new Error('x');
    const calls = [
      breaker.execute(() => new Promise((resolve) => setTimeout(resolve, 30))),
      breaker.execute(() => new Promise((_, reject) => setTimeout(reject, 70, error))).catch(() => {}),
    ];
    await vi.advanceTimersByTimeAsync(70);
    await Promise.all(calls);
    expect(seen).toEqual([{ duration: 30 }, { duration: 70, error }]);
  });

  it('never reports a NaN duration: a call that started before anyone listened is reported without one', async () => {
    const breaker = new CircuitBreaker();
    const seen: unknown[] = [];
    const early = deferred();
    const earlyFailure = deferred();
    const calls = [breaker.execute(() => early.promise), attempt(breaker, () => earlyFailure.promise)];
    breaker.on('success', (p) => seen.push(p));
    breaker.on('failure', (p) => seen.push(p));
    const late = breaker.execute(() => new Promise((resolve) => setTimeout(resolve, 10)));
    early.resolve('early');
    earlyFailure.reject(new Error('early'));
    await vi.advanceTimersByTimeAsync(10);
    await Promise.all([...calls, late]);
    // The untimed calls are reported (a metric counting them stays right), with no duration key at all.
    expect(seen).toEqual([{}, { error: new Error('early') }, { duration: 10 }]);
    for (const payload of seen.slice(0, 2)) expect(Object.keys(payload as object)).not.toContain('duration');
    // Both untimed calls were still counted.
    expect(breaker.stats()).toMatchObject({ calls: 3, failures: 1 });
  });

  it('does not read the clock on the happy path when nobody listens', async () => {
    const breaker = new CircuitBreaker();
    const clock = vi.spyOn(performance, 'now');
    for (let i = 0; i < 5; i++) await breaker.execute(ok);
    await attempt(breaker, boom);
    expect(clock).not.toHaveBeenCalled();
    clock.mockRestore();
  });

  it('keeps the outcome of a call when a listener throws', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1 });
    breaker.on('success', () => {
      throw new Error('listener');
    });
    breaker.on('stateChange', () => {
      throw new Error('listener');
    });
    expect(await breaker.execute(ok)).toBe('ok');
    await expect(breaker.execute(boom)).rejects.toThrow('boom');
    expect(breaker.state).toBe('open');
  });
});

describe('CircuitBreaker snapshots', () => {
  const roundTrip = (breaker: CircuitBreaker, options = {}): CircuitBreaker =>
    new CircuitBreaker({ ...options, initialState: JSON.parse(JSON.stringify(breaker)) });

  it('restores a closed breaker with its counts', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 3 });
    await attempt(breaker);
    await failTimes(breaker, 2);
    const copy = roundTrip(breaker, { failureThreshold: 3 });
    expect(copy.stats()).toEqual(breaker.stats());
    await failTimes(copy, 1);
    expect(copy.state).toBe('open');
  });

  it('keeps the remaining wait of an open breaker', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, openDuration: 30_000 });
    await failTimes(breaker, 1);
    vi.advanceTimersByTime(10_000);
    const copy = roundTrip(breaker);
    expect(copy.state).toBe('open');
    expect(((await attempt(copy)) as BrokenCircuitError).retryAfter).toBe(20_000);
    vi.advanceTimersByTime(20_000);
    expect(copy.state).toBe('half-open');
  });

  it('subtracts the time that passed between save and restore', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, openDuration: 30_000 });
    await failTimes(breaker, 1);
    const saved = JSON.stringify(breaker);
    vi.advanceTimersByTime(25_000);
    const copy = new CircuitBreaker({ initialState: JSON.parse(saved) });
    expect(((await attempt(copy)) as BrokenCircuitError).retryAfter).toBe(5_000);
  });

  it('resumes half-open as open with its wait over, and keeps counting openings', async () => {
    const openDuration = vi.fn((opens: number) => opens * 100);
    const breaker = new CircuitBreaker({ failureThreshold: 1, openDuration });
    await failTimes(breaker, 1);
    vi.advanceTimersByTime(100);
    const copy = roundTrip(breaker, { failureThreshold: 1, openDuration });
    expect(copy.state).toBe('half-open');
    await failTimes(copy, 1);
    expect(openDuration).toHaveBeenLastCalledWith(2);
  });

  it('restores an isolated breaker, which reset() releases', () => {
    const breaker = new CircuitBreaker();
    breaker.isolate();
    const copy = roundTrip(breaker);
    expect(copy.state).toBe('isolated');
    copy.reset();
    expect(copy.state).toBe('closed');
  });

  it('restores an open wait without end', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, openDuration: Infinity });
    await failTimes(breaker, 1);
    const json = breaker.toJSON();
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
    const copy = roundTrip(breaker);
    vi.advanceTimersByTime(1e10);
    expect(copy.state).toBe('open');
  });

  it('restores a time window, which keeps ageing', async () => {
    const breaker = new CircuitBreaker({ windowDuration: 10_000 });
    await failTimes(breaker, 2);
    vi.advanceTimersByTime(5_000);
    await attempt(breaker);
    const copy = roundTrip(breaker, { windowDuration: 10_000 });
    expect(copy.stats()).toMatchObject({ calls: 3, failures: 2 });
    vi.advanceTimersByTime(5_000);
    expect(copy.stats()).toMatchObject({ calls: 1, failures: 0 });
    vi.advanceTimersByTime(5_000);
    expect(copy.stats()).toMatchObject({ calls: 0 });
  });

  it('refuses impossible snapshots with a TypeError naming initialState', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, windowDuration: 10_000 });
    await failTimes(breaker, 1);
    const open = breaker.toJSON();
    expect(open).toMatchObject({ state: 'open', window: { kind: 'time' } });
    const bucket = (open.window as { readonly buckets: readonly (readonly number[])[] }).buckets[0]!;
    const closed = new CircuitBreaker().toJSON();
    const impossible: Record<string, unknown> = {
      'more failures than calls': { ...open, window: { kind: 'time', buckets: [[bucket[0], 1, 2, 0, 0]] } },
      'more slow calls than calls': { ...open, window: { kind: 'time', buckets: [[bucket[0], 1, 0, 2, 0]] } },
      'fractional calls': { ...open, window: { kind: 'time', buckets: [[bucket[0], 1.5, 1, 0, 0]] } },
      'fractional rejections': { ...closed, window: { kind: 'count', outcomes: '', rejections: 0.5 } },
      'fractional opens': { ...open, opens: 1.5 },
      'fractional consecutive failures': { ...open, consecutiveFailures: 0.1 },
      'negative consecutive failures': { ...open, consecutiveFailures: -1 },
      'a count given as a string': { ...open, opens: '1' },
      'a NaN savedAt': { ...open, savedAt: NaN },
      'an infinite openRemaining': { ...open, openRemaining: Infinity },
      'a wait left on a closed circuit': { ...closed, openRemaining: 5_000 },
      'holds on a closed circuit': { ...closed, isolations: 2 },
      'an isolated circuit without holds': { ...closed, state: 'isolated', isolations: 0 },
      'an open circuit that never opened': { ...open, opens: 0 },
      'a half-open circuit that never opened': { ...open, state: 'half-open', openRemaining: 0, opens: 0 },
      'openings counted on a closed circuit': { ...closed, opens: 2 },
      'a half-open circuit whose wait had no end': { ...open, state: 'half-open', openRemaining: 0, openDuration: null },
    };
    for (const [name, initialState] of Object.entries(impossible)) {
      expect(() => new CircuitBreaker({ initialState: initialState as never }), name).toThrow(TypeError);
      expect(() => new CircuitBreaker({ initialState: initialState as never }), name).toThrow(/"initialState"/);
    }
    // What toJSON() makes is always accepted, also fractional times.
    expect(new CircuitBreaker({ windowDuration: 10_000, initialState: { ...open, openRemaining: 0.5, openDuration: 0.5 } }).state).toBe('open');
  });

  it('takes the newest calls of a count window into a smaller one', async () => {
    const breaker = new CircuitBreaker({ windowSize: 10, failureThreshold: 100 });
    await failTimes(breaker, 3);
    for (let i = 0; i < 3; i++) await attempt(breaker);
    const copy = roundTrip(breaker, { windowSize: 4 });
    expect(copy.stats()).toMatchObject({ calls: 4, failures: 1 });
  });
});
