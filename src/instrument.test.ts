import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AdaptiveLimiter } from './adaptive-limiter.js';
import { AdaptiveThrottle } from './adaptive-throttle.js';
import { Bulkhead } from './bulkhead.js';
import { chaos } from './chaos.js';
import { CircuitBreaker } from './circuit-breaker.js';
import { withFallback } from './fallback.js';
import { hedge } from './hedge.js';
import { instrument, type InstrumentAttributes, type InstrumentCreateOptions, type InstrumentMeter, type InstrumentObservableResult } from './instrument.js';
import { wrap, type Policy } from './policy.js';
import { RateLimiter } from './rate-limiter.js';
import { retryWithBackoff } from './retry.js';
import { withTimeout } from './timeout.js';

type Point = { value: number; attributes: InstrumentAttributes | undefined };
type Created = { kind: 'counter' | 'histogram' | 'gauge'; name: string; options: InstrumentCreateOptions | undefined };

/** A meter with the shape instrument() asks for, that keeps everything it is given. */
function fakeMeter() {
  const created: Created[] = [];
  const points = new Map<string, Point[]>();
  const callbacks = new Map<string, Set<(result: InstrumentObservableResult) => void>>();
  const record = (name: string) => (value: number, attributes?: InstrumentAttributes) => {
    points.set(name, [...(points.get(name) ?? []), { value, attributes }]);
  };
  const meter: InstrumentMeter = {
    createCounter(name, options) {
      created.push({ kind: 'counter', name, options });
      return { add: record(name) };
    },
    createHistogram(name, options) {
      created.push({ kind: 'histogram', name, options });
      return { record: record(name) };
    },
    createObservableGauge(name, options) {
      created.push({ kind: 'gauge', name, options });
      const set = new Set<(result: InstrumentObservableResult) => void>();
      callbacks.set(name, set);
      return { addCallback: (cb) => void set.add(cb), removeCallback: (cb) => void set.delete(cb) };
    },
  };
  return {
    meter,
    created,
    /** Data points of a counter or histogram so far. */
    points: (name: string) => points.get(name) ?? [],
    /** The sum of a counter's points whose attributes include `match`. */
    count: (name: string, match: Record<string, string>) =>
      (points.get(name) ?? []).filter((p) => Object.entries(match).every(([k, v]) => p.attributes?.[k] === v)).reduce((sum, p) => sum + p.value, 0),
    /** What a collection would see of a gauge now: runs its callbacks. */
    collect(name: string): Point[] {
      const seen: Point[] = [];
      for (const cb of callbacks.get(name) ?? []) cb({ observe: (value, attributes) => seen.push({ value, attributes }) });
      return seen;
    },
    callbackCount: () => [...callbacks.values()].reduce((n, set) => n + set.size, 0),
  };
}

/** The listener lists of a built-in policy (a protected field: read here to prove detach leaves none). */
const listenedEvents = (policy: object) =>
  Object.entries((policy as unknown as { listeners: Record<string, unknown> }).listeners)
    .filter(([, list]) => list !== undefined)
    .map(([event]) => event);

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('instrument', () => {
  it('creates the eight instruments with their names, kinds and units, once per meter', () => {
    const m = fakeMeter();
    instrument(withTimeout(100), { meter: m.meter });
    instrument(new CircuitBreaker(), { meter: m.meter });
    expect(m.created.map(({ kind, name, options }) => [kind, name, options?.unit])).toEqual([
      ['counter', 'breakwater.events', '{event}'],
      ['histogram', 'breakwater.call.duration', 's'],
      ['histogram', 'breakwater.queue.duration', 's'],
      ['histogram', 'breakwater.retry.duration', 's'],
      ['gauge', 'breakwater.circuit.state', '{state}'],
      ['gauge', 'breakwater.concurrency.active', '{call}'],
      ['gauge', 'breakwater.concurrency.queued', '{call}'],
      ['gauge', 'breakwater.concurrency.limit', '{call}'],
    ]);
    expect(m.created[1]!.options?.advice?.explicitBucketBoundaries).toContain(0.005);
    // A queue wait's buckets start at 0 (the calls that did not wait); a retried call's reach a minute.
    expect(m.created[2]!.options?.advice?.explicitBucketBoundaries?.slice(0, 2)).toEqual([0, 0.001]);
    expect(m.created[3]!.options?.advice?.explicitBucketBoundaries?.at(-1)).toBe(60);
  });

  it('counts every retry event with the name, kind and event attributes', async () => {
    const m = fakeMeter();
    const retry = retryWithBackoff({ maxRetries: 2, initialDelay: 10, jitter: 'none' });
    instrument(retry, { meter: m.meter, name: 'payments' });
    let calls = 0;
    const done = retry.execute(() => (++calls < 3 ? Promise.reject(new Error('flaky')) : 'ok'));
    await vi.runAllTimersAsync();
    await expect(done).resolves.toBe('ok');
    const failing = retry.execute(() => Promise.reject(new Error('down'))).catch(() => 'gave up');
    await vi.runAllTimersAsync();
    await failing;
    const a = { 'breakwater.name': 'payments', 'breakwater.policy': 'retry' };
    expect(m.points('breakwater.events')).toContainEqual({ value: 1, attributes: { ...a, 'breakwater.event': 'retry' } });
    expect(m.count('breakwater.events', { 'breakwater.event': 'retry' })).toBe(4);
    expect(m.count('breakwater.events', { 'breakwater.event': 'success' })).toBe(1);
    expect(m.count('breakwater.events', { 'breakwater.event': 'giveUp' })).toBe(1);
  });

  it('reports the circuit state at collection time and call durations in seconds', async () => {
    const m = fakeMeter();
    const breaker = new CircuitBreaker({ failureThreshold: 2, openDuration: 1_000 });
    instrument(breaker, { meter: m.meter, name: 'db' });
    const a = { 'breakwater.name': 'db', 'breakwater.policy': 'circuit-breaker' };
    expect(m.collect('breakwater.circuit.state')).toEqual([{ value: 0, attributes: a }]);

    const ok = breaker.execute(() => new Promise((resolve) => setTimeout(resolve, 250)));
    await vi.advanceTimersByTimeAsync(250);
    await ok;
    for (let i = 0; i < 2; i++) {
      const failed = breaker.execute(() => new Promise((_, reject) => setTimeout(reject, 40, new Error('x')))).catch(() => {});
      await vi.advanceTimersByTimeAsync(40);
      await failed;
    }
    expect(m.collect('breakwater.circuit.state')).toEqual([{ value: 2, attributes: a }]);
    expect(m.points('breakwater.call.duration')).toEqual([
      { value: 0.25, attributes: { ...a, 'breakwater.outcome': 'success' } },
      { value: 0.04, attributes: { ...a, 'breakwater.outcome': 'failure' } },
      { value: 0.04, attributes: { ...a, 'breakwater.outcome': 'failure' } },
    ]);
    await breaker.execute(() => 'never runs').catch(() => {});
    expect(m.count('breakwater.events', { 'breakwater.event': 'rejected' })).toBe(1);
    expect(m.count('breakwater.events', { 'breakwater.event': 'open' })).toBe(1);

    vi.advanceTimersByTime(1_000);
    // Read at collection time: the wait has passed, so the breaker reads half-open (and says so in its events).
    expect(m.collect('breakwater.circuit.state')).toEqual([{ value: 1, attributes: a }]);
    expect(m.count('breakwater.events', { 'breakwater.event': 'halfOpen' })).toBe(1);
    const release = breaker.isolate();
    expect(m.collect('breakwater.circuit.state')).toEqual([{ value: 3, attributes: a }]);
    release();
    expect(m.collect('breakwater.circuit.state')).toEqual([{ value: 0, attributes: a }]);
  });

  it('counts a breaker call already in flight when it attached, and records no duration for it (it was not timed)', async () => {
    const m = fakeMeter();
    const breaker = new CircuitBreaker();
    const early = breaker.execute(() => new Promise((resolve) => setTimeout(resolve, 100)));
    const detach = instrument(breaker, { meter: m.meter });
    const late = breaker.execute(() => new Promise((resolve) => setTimeout(resolve, 50)));
    await vi.advanceTimersByTimeAsync(100);
    await Promise.all([early, late]);
    expect(m.count('breakwater.events', { 'breakwater.event': 'success' })).toBe(2);
    expect(m.points('breakwater.call.duration').map((p) => p.value)).toEqual([0.05]);
    detach();
  });

  it('reports a bulkhead\'s active, queued and limit, an adaptive limiter\'s and a rate limiter\'s queue', async () => {
    const m = fakeMeter();
    const bulkhead = new Bulkhead({ maxConcurrent: 2, maxQueue: 5 });
    const limiter = new AdaptiveLimiter({ initialLimit: 1, maxQueue: 3 });
    const rate = new RateLimiter({ limit: 1, interval: 1_000, maxWait: 10_000 });
    instrument(wrap(bulkhead, limiter, rate), { meter: m.meter, name: 'pool' });
    const never = new Promise<never>(() => {});
    for (let i = 0; i < 3; i++) void rate.execute(() => never);
    for (let i = 0; i < 3; i++) void limiter.execute(() => never);
    for (let i = 0; i < 6; i++) void bulkhead.execute(() => never);
    await Promise.resolve();
    const at = (kind: string) => ({ 'breakwater.name': 'pool', 'breakwater.policy': kind });
    expect(m.collect('breakwater.concurrency.active')).toEqual([
      { value: 2, attributes: at('bulkhead') },
      { value: 1, attributes: at('adaptive-limiter') },
    ]);
    expect(m.collect('breakwater.concurrency.queued')).toEqual([
      { value: 4, attributes: at('bulkhead') },
      { value: 2, attributes: at('adaptive-limiter') },
      { value: 2, attributes: at('rate-limiter') },
    ]);
    expect(m.collect('breakwater.concurrency.limit')).toEqual([
      { value: 2, attributes: at('bulkhead') },
      { value: 1, attributes: at('adaptive-limiter') },
    ]);
  });

  it('counts a bulkhead admission and rejection', async () => {
    const m = fakeMeter();
    const bulkhead = new Bulkhead({ maxConcurrent: 1 });
    instrument(bulkhead, { meter: m.meter });
    void bulkhead.execute(() => new Promise(() => {}));
    await bulkhead.execute(() => 'x').catch(() => {});
    expect(m.points('breakwater.events')).toEqual([
      { value: 1, attributes: { 'breakwater.name': 'default', 'breakwater.policy': 'bulkhead', 'breakwater.event': 'admitted' } },
      { value: 1, attributes: { 'breakwater.name': 'default', 'breakwater.policy': 'bulkhead', 'breakwater.event': 'rejected' } },
    ]);
  });

  it('records each admitted call\'s queue wait in seconds in breakwater.queue.duration, 0 for one that did not wait', async () => {
    const m = fakeMeter();
    const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 1 });
    const limiter = new AdaptiveLimiter({ initialLimit: 1, maxQueue: 1 });
    instrument(wrap(bulkhead, limiter), { meter: m.meter, name: 'pool' });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const first = limiter.execute(() => held);
    const second = limiter.execute(() => 'second');
    const inBulkhead = bulkhead.execute(() => 'at once');
    await vi.advanceTimersByTimeAsync(300);
    release();
    await Promise.all([first, second, inBulkhead]);
    const at = (kind: string) => ({ 'breakwater.name': 'pool', 'breakwater.policy': kind });
    expect(m.points('breakwater.queue.duration')).toEqual([
      { value: 0, attributes: at('adaptive-limiter') },
      { value: 0, attributes: at('bulkhead') },
      { value: 0.3, attributes: at('adaptive-limiter') },
    ]);
    expect(m.count('breakwater.events', { 'breakwater.event': 'admitted' })).toBe(3);
  });

  it('records a retried call\'s elapsed time in seconds in breakwater.retry.duration, by outcome', async () => {
    const m = fakeMeter();
    const retry = retryWithBackoff({ maxRetries: 1, initialDelay: 100, jitter: 'none' });
    instrument(retry, { meter: m.meter, name: 'api' });
    let n = 0;
    const ok = retry.execute(() => (++n === 1 ? Promise.reject(new Error('flaky')) : 'ok'));
    await vi.runAllTimersAsync();
    await ok;
    const failing = retry.execute(() => new Promise((_, reject) => setTimeout(reject, 50, new Error('down')))).catch(() => 'gave up');
    await vi.runAllTimersAsync();
    await failing;
    const a = { 'breakwater.name': 'api', 'breakwater.policy': 'retry' };
    expect(m.points('breakwater.retry.duration')).toEqual([
      { value: 0.1, attributes: { ...a, 'breakwater.outcome': 'success' } },
      { value: 0.2, attributes: { ...a, 'breakwater.outcome': 'failure' } },
    ]);
  });

  it('counts a hedge\'s win with the winning attempt\'s number in breakwater.attempt', async () => {
    const m = fakeMeter();
    const hedged = hedge({ delay: 100 });
    instrument(hedged, { meter: m.meter, name: 'search' });
    await hedged.execute(() => 'first');
    let calls = 0;
    const raced = hedged.execute(() => (++calls === 1 ? new Promise(() => {}) : 'second'));
    await vi.advanceTimersByTimeAsync(100);
    await raced;
    const a = { 'breakwater.name': 'search', 'breakwater.policy': 'hedge', 'breakwater.event': 'win' };
    expect(m.points('breakwater.events').filter((p) => p.attributes?.['breakwater.event'] === 'win')).toEqual([
      { value: 1, attributes: { ...a, 'breakwater.attempt': '1' } },
      { value: 1, attributes: { ...a, 'breakwater.attempt': '2' } },
    ]);
    expect(m.count('breakwater.events', { 'breakwater.event': 'hedge' })).toBe(1);
  });

  it('instruments every built-in policy of a wrap with its kind, and skips a policy of your own', async () => {
    const m = fakeMeter();
    const mine: Policy = { execute: (fn) => Promise.resolve(fn({ signal: new AbortController().signal, attempt: 1 })) };
    const policies = [
      withFallback('fallback'),
      retryWithBackoff({ maxRetries: 0 }),
      new CircuitBreaker(),
      new Bulkhead({ maxConcurrent: 1 }),
      new RateLimiter({ limit: 100, interval: 1_000 }),
      new AdaptiveLimiter(),
      new AdaptiveThrottle(),
      hedge({ delay: 1_000 }),
      chaos({ faultRate: 1, seed: 1 }),
      mine,
      withTimeout(1_000),
    ] as const;
    const pipeline = wrap(...policies);
    instrument(pipeline, { meter: m.meter, name: 'all' });
    await expect(pipeline.execute(() => 'value')).resolves.toBe('fallback');
    const kinds = new Set(m.points('breakwater.events').map((p) => `${p.attributes?.['breakwater.policy']}:${p.attributes?.['breakwater.event']}`));
    // chaos failed the call; the policies outside it saw the failure on its way out.
    expect([...kinds]).toEqual(expect.arrayContaining(['chaos:fault', 'hedge:hedge', 'circuit-breaker:failure', 'retry:giveUp', 'fallback:fallback']));
    for (const p of policies.filter((p) => p !== mine)) expect(listenedEvents(p).length).toBeGreaterThan(0);
  });

  it("names each class's kind as the API does, and listens to exactly the events the class declares to its Emitter", () => {
    const cases: Array<[string, Policy<unknown>, string]> = [
      ['retry.ts', retryWithBackoff(), 'retry'],
      ['circuit-breaker.ts', new CircuitBreaker(), 'circuit-breaker'],
      ['bulkhead.ts', new Bulkhead({ maxConcurrent: 1 }), 'bulkhead'],
      ['timeout.ts', withTimeout(1), 'timeout'],
      ['fallback.ts', withFallback(0), 'fallback'],
      ['rate-limiter.ts', new RateLimiter({ limit: 1, interval: 1 }), 'rate-limiter'],
      ['hedge.ts', hedge({ delay: 1 }), 'hedge'],
      ['adaptive-limiter.ts', new AdaptiveLimiter(), 'adaptive-limiter'],
      ['adaptive-throttle.ts', new AdaptiveThrottle(), 'adaptive-throttle'],
      ['chaos.ts', chaos({}), 'chaos'],
    ];
    for (const [file, policy, kind] of cases) {
      // The names each class passes to super(): a new event in a policy must join instrument.ts's table.
      const declared = /super\('([^']*)'/.exec(readFileSync(new URL(file, import.meta.url), 'utf8'))?.[1]?.split(' ');
      expect(declared, file).toBeDefined();
      const m = fakeMeter();
      instrument(policy, { meter: m.meter });
      expect(listenedEvents(policy).sort(), file).toEqual([...declared!].sort());
      const emit = (policy as unknown as { emit: (event: string, payload: object) => void }).emit.bind(policy);
      for (const event of declared!) emit(event, { duration: 0 });
      expect(m.points('breakwater.events').map((p) => p.attributes), file).toEqual(
        declared!.map((event) => ({ 'breakwater.name': 'default', 'breakwater.policy': kind, 'breakwater.event': event })),
      );
    }
  });

  it('detaches every listener and every gauge callback, and detaching twice is harmless', () => {
    const m = fakeMeter();
    const policies = [retryWithBackoff(), new CircuitBreaker(), new Bulkhead({ maxConcurrent: 1 }), new AdaptiveLimiter(), new RateLimiter({ limit: 1, interval: 1 })];
    const detach = instrument(wrap(...policies), { meter: m.meter });
    expect(m.callbackCount()).toBe(1 + 3 + 3 + 1);
    detach();
    detach();
    expect(m.callbackCount()).toBe(0);
    for (const p of policies) expect(listenedEvents(p)).toEqual([]);
  });

  it('instruments one policy with two meters; detaching one leaves the other', async () => {
    const a = fakeMeter();
    const b = fakeMeter();
    const timeout = withTimeout(10);
    const offA = instrument(timeout, { meter: a.meter, name: 'a' });
    instrument(timeout, { meter: b.meter, name: 'b' });
    const slow = () => {
      const call = timeout.execute(() => new Promise(() => {})).catch(() => {});
      return vi.advanceTimersByTimeAsync(10).then(() => call);
    };
    await slow();
    offA();
    await slow();
    expect(a.count('breakwater.events', { 'breakwater.name': 'a', 'breakwater.event': 'timeout' })).toBe(1);
    expect(b.count('breakwater.events', { 'breakwater.name': 'b', 'breakwater.event': 'timeout' })).toBe(2);
  });

  it('rejects a bad policy, meter or name at once, naming it', () => {
    const { meter } = fakeMeter();
    const mine: Policy = { execute: (fn) => Promise.resolve(fn({ signal: new AbortController().signal, attempt: 1 })) };
    expect(() => instrument(mine, { meter })).toThrow(/instrument: policy must be a built-in policy or a wrap/);
    expect(() => instrument(undefined as never, { meter })).toThrow(TypeError);
    expect(() => instrument(withTimeout(1), undefined as never)).toThrow(/instrument: option "meter" is required/);
    expect(() => instrument(withTimeout(1), { meter: {} as never })).toThrow(/option "meter" must be an object with createCounter\(\)/);
    expect(() => instrument(withTimeout(1), { meter, name: '' })).toThrow(/option "name" must be a non-empty string/);
    expect(() => instrument(withTimeout(1), { meter, nmae: 'x' } as never)).toThrow(/unknown option 'nmae'/);
  });
});
