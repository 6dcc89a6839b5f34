import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { chaos } from './chaos.js';
import { TimeoutError } from './errors.js';
import { seededRandom } from './internal/random.js';
import { wrap } from './policy.js';
import { retryWithBackoff } from './retry.js';
import { withTimeout } from './timeout.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  expect(vi.getTimerCount()).toBe(0);
  vi.useRealTimers();
});

async function outcomes(policy: ReturnType<typeof chaos>, n: number): Promise<string> {
  let s = '';
  for (let i = 0; i < n; i++) {
    s += await policy.execute(() => '.').catch(() => 'x');
  }
  return s;
}

describe('chaos', () => {
  it('injects faults into about faultRate of calls, the same ones for the same seed', async () => {
    const a = await outcomes(chaos({ faultRate: 0.3, seed: 42 }), 1_000);
    const b = await outcomes(chaos({ faultRate: 0.3, seed: 42 }), 1_000);
    const c = await outcomes(chaos({ faultRate: 0.3, seed: 43 }), 1_000);
    expect(a).toBe(b);
    expect(a).not.toBe(c);
    const faults = a.split('').filter((ch) => ch === 'x').length;
    expect(faults).toBeGreaterThan(250);
    expect(faults).toBeLessThan(350);
  });

  it('throws the given error, or a fresh one from a factory, without calling fn', async () => {
    const boom = new Error('boom');
    const fn = vi.fn(() => 'real');
    await expect(chaos({ error: boom }).execute(fn)).rejects.toBe(boom);
    let n = 0;
    const factory = chaos({ error: (ctx: { attempt: number }) => new Error(`fault ${++n} on attempt ${ctx.attempt}`) });
    await expect(factory.execute(fn)).rejects.toThrow('fault 1 on attempt 1');
    await expect(factory.execute(fn)).rejects.toThrow('fault 2 on attempt 1');
    expect(fn).not.toHaveBeenCalled();
  });

  it('throws a default error with faultRate alone', async () => {
    await expect(chaos({ faultRate: 1 }).execute(() => 1)).rejects.toThrow(/Injected fault/);
  });

  it('does nothing when disabled, and asks an enabled function on every call', async () => {
    expect(await outcomes(chaos({ faultRate: 1, enabled: false }), 5)).toBe('.....');
    let on = false;
    const flagged = chaos({ faultRate: 1, enabled: () => on });
    expect(await outcomes(flagged, 2)).toBe('..');
    on = true;
    expect(await outcomes(flagged, 2)).toBe('xx');
  });

  it('delays calls by a fixed latency, then calls fn', async () => {
    const policy = chaos({ latency: 200 });
    const events: unknown[] = [];
    policy.on('latency', (e) => events.push(e));
    const fn = vi.fn(() => 'done');
    const result = policy.execute(fn);
    await vi.advanceTimersByTimeAsync(199);
    expect(fn).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    await expect(result).resolves.toBe('done');
    expect(events).toEqual([{ delay: 200 }]);
  });

  it('draws latency from a [min, max] range, seeded', async () => {
    const delays: number[] = [];
    const policy = chaos({ latency: [100, 300], seed: 1 });
    policy.on('latency', ({ delay }) => delays.push(delay));
    for (let i = 0; i < 20; i++) {
      const call = policy.execute(() => 0);
      await vi.runAllTimersAsync();
      await call;
    }
    expect(delays.every((d) => d >= 100 && d <= 300)).toBe(true);
    expect(new Set(delays).size).toBe(20);
    const again: number[] = [];
    const twin = chaos({ latency: [100, 300], seed: 1 });
    twin.on('latency', ({ delay }) => again.push(delay));
    const call = twin.execute(() => 0);
    await vi.runAllTimersAsync();
    await call;
    expect(again[0]).toBe(delays[0]);
  });

  it('injects latency into latencyRate of calls only', async () => {
    let delayed = 0;
    const policy = chaos({ latency: 10, latencyRate: 0.25, random: seededRandom(5) });
    policy.on('latency', () => delayed++);
    for (let i = 0; i < 400; i++) {
      const call = policy.execute(() => 0);
      await vi.runAllTimersAsync();
      await call;
    }
    expect(delayed).toBeGreaterThan(70);
    expect(delayed).toBeLessThan(130);
  });

  it('ends an injected wait at once with the reason when the caller aborts', async () => {
    const controller = new AbortController();
    const fn = vi.fn();
    const result = chaos({ latency: 60_000 }).execute(fn, controller.signal);
    await vi.advanceTimersByTimeAsync(10);
    controller.abort(new Error('stop'));
    await expect(result).rejects.toThrow('stop');
    expect(fn).not.toHaveBeenCalled();
  });

  it('lets an enclosing timeout cut injected latency short', async () => {
    const result = wrap(withTimeout(100), chaos({ latency: 5_000 })).execute(() => 'never');
    const settled = expect(result).rejects.toBeInstanceOf(TimeoutError);
    await vi.advanceTimersByTimeAsync(100);
    await settled;
  });

  it('returns an injected result instead of calling fn', async () => {
    const fn = vi.fn(() => 'real');
    const policy = chaos({ result: { status: 503 } });
    const events: unknown[] = [];
    policy.on('result', (e) => events.push(e));
    await expect(policy.execute(fn)).resolves.toEqual({ status: 503 });
    await expect(chaos({ result: async () => 'made' }).execute(fn)).resolves.toBe('made');
    expect(fn).not.toHaveBeenCalled();
    expect(events).toEqual([{ value: { status: 503 } }]);
  });

  it('emits fault events', async () => {
    const policy = chaos({ faultRate: 1, error: 'E' });
    const events: unknown[] = [];
    policy.on('fault', (e) => events.push(e));
    await expect(policy.execute(() => 1)).rejects.toBe('E');
    expect(events).toEqual([{ error: 'E' }]);
  });

  it('exercises a retry policy: injected faults are retried like real ones', async () => {
    const retry = retryWithBackoff({ maxRetries: 10, jitter: 'none', initialDelay: 1 });
    let retries = 0;
    retry.on('retry', () => retries++);
    const pipeline = wrap(retry, chaos({ faultRate: 0.5, seed: 3 }));
    const results: unknown[] = [];
    for (let i = 0; i < 20; i++) {
      const call = pipeline.execute(() => 'ok');
      await vi.runAllTimersAsync();
      results.push(await call);
    }
    expect(results.every((r) => r === 'ok')).toBe(true);
    expect(retries).toBeGreaterThan(5);
  });

  it('fails the call, never throws synchronously, when enabled or latency functions throw', async () => {
    const boom = () => {
      throw new Error('flag service down');
    };
    await expect(chaos({ faultRate: 1, enabled: boom }).execute(() => 1)).rejects.toThrow('flag service down');
    await expect(chaos({ latency: boom }).execute(() => 1)).rejects.toThrow('flag service down');
  });

  it('rejects bad options naming the option', () => {
    expect(() => chaos({ faultRate: 1.5 })).toThrow(/faultRate/);
    expect(() => chaos({ faultRate: -0.1 })).toThrow(RangeError);
    expect(() => chaos({ latency: -5 })).toThrow(/latency/);
    expect(() => chaos({ latency: [300, 100] })).toThrow(/min <= max/);
    expect(() => chaos({ latency: [1, 2, 3] as never })).toThrow(/latency/);
    expect(() => chaos({ latencyRate: 0.5 })).toThrow(/latency/);
    expect(() => chaos({ resultRate: 0.5 })).toThrow(/result/);
    expect(() => chaos({ enabled: 'yes' as never })).toThrow(/enabled/);
    expect(() => chaos({ seed: Number.NaN })).toThrow(/seed/);
    expect(() => chaos({ random: 4 as never })).toThrow(/random/);
  });
});

describe('chaos: undefined means the default', () => {
  // `{ ...defaults, ...user }` or plain JavaScript produce keys set to undefined;
  // exactOptionalPropertyTypes refuses to write them, so they are cast.
  it('`result: undefined` injects no result: fn is called and its value returned', async () => {
    const fn = vi.fn(() => 'real');
    const policy = chaos({ result: undefined } as never);
    expect(await policy.execute(fn)).toBe('real');
    expect(await policy.execute(fn)).toBe('real');
    expect(fn).toHaveBeenCalledTimes(2);
  });

  it('`result: undefined` with a resultRate is refused, pointing at `() => undefined`', () => {
    expect(() => chaos({ result: undefined, resultRate: 1 } as never)).toThrow(TypeError);
    expect(() => chaos({ result: undefined, resultRate: 1 } as never)).toThrow(/"resultRate" needs option "result".*\(\) => undefined/);
  });

  it('`result: () => undefined` injects undefined', async () => {
    const fn = vi.fn(() => 'real');
    expect(await chaos({ result: () => undefined }).execute(fn)).toBeUndefined();
    expect(fn).not.toHaveBeenCalled();
  });
});

describe('chaos: default randomness', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('reads Math.random when it draws, not when the policy is created: a stub set afterwards applies', async () => {
    const policy = chaos({ faultRate: 0.5 });
    const fn = vi.fn(() => 'real');
    vi.spyOn(Math, 'random').mockReturnValue(0.1); // below 0.5: a fault
    await expect(policy.execute(fn)).rejects.toThrow(/Injected fault/);
    vi.spyOn(Math, 'random').mockReturnValue(0.9); // above: the real call
    expect(await policy.execute(fn)).toBe('real');
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('a latency range draws from Math.random at call time too', async () => {
    const policy = chaos({ latency: [0, 1_000] });
    vi.spyOn(Math, 'random').mockReturnValue(0.25);
    const delays: number[] = [];
    policy.on('latency', ({ delay }) => delays.push(delay));
    const call = policy.execute(() => 'ok');
    await vi.advanceTimersByTimeAsync(250);
    expect(await call).toBe('ok');
    expect(delays).toEqual([250]);
  });
});
