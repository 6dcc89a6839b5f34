// resilientFetch with `perOrigin`: each origin runs through its own policy from
// a PolicyRegistry, so a dead downstream opens only its own circuit. Two real
// HTTP servers on loopback (and a closed port); real timers, waits of a few ms.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  BrokenCircuitError,
  CircuitBreaker,
  PolicyRegistry,
  resilientFetch,
  retryWithBackoff,
  withTimeout,
  wrap,
  type PolicyWrap,
} from '../src/index.js';
import { refusedUrl, startServer, type TestServer } from './helpers/http-server.js';

let healthy: TestServer;
let sick: TestServer;

beforeAll(async () => {
  [healthy, sick] = await Promise.all([startServer(), startServer()]);
  sick.script('/items', { status: 503 });
});
afterAll(async () => {
  await Promise.all([healthy.close(), sick.close()]);
});

/** Per origin: a retry (one retry, 1 ms apart) around a breaker that opens after 2 failures, around a 2 s timeout. */
function perOriginRegistry(options: { maxKeys?: number } = {}) {
  const create = vi.fn((_origin: string) =>
    wrap(retryWithBackoff({ maxRetries: 1, initialDelay: 1, jitter: 'none' }), new CircuitBreaker({ failureThreshold: 2, openDuration: 60_000 }), withTimeout(2_000)),
  );
  return { registry: new PolicyRegistry({ create, ...options }), create };
}

const breakerOf = (pipeline: PolicyWrap): CircuitBreaker => pipeline.policies[1] as CircuitBreaker;

describe('resilientFetch perOrigin', () => {
  it('a server answering 503 opens only its own circuit: the healthy origin is unaffected', async () => {
    const { registry } = perOriginRegistry();
    const api = resilientFetch({ perOrigin: registry });
    const before = sick.count('/items');

    expect((await api(`${sick.url}/items`)).status).toBe(503); // two attempts, the circuit opens
    await expect(api(`${sick.url}/items`)).rejects.toBeInstanceOf(BrokenCircuitError);
    expect(sick.count('/items') - before).toBe(2); // the open circuit sent nothing

    for (let i = 0; i < 5; i++) expect((await api(`${healthy.url}/items?page=${i}`)).status).toBe(200);
    expect(breakerOf(registry.get(sick.url)).state).toBe('open');
    expect(breakerOf(registry.get(healthy.url)).state).toBe('closed');
    expect(Array.from(registry.entries(), ([origin]) => origin).sort()).toEqual([healthy.url, sick.url].sort());
  });

  it('so does a closed port (connection refused), while the healthy origin answers', async () => {
    const dead = await refusedUrl();
    const { registry } = perOriginRegistry();
    const api = resilientFetch({ perOrigin: registry });
    await expect(api(`${dead}/items`)).rejects.toThrow(TypeError); // fetch's network error, after a retry
    await expect(api(`${dead}/items`)).rejects.toBeInstanceOf(BrokenCircuitError);
    expect((await api(`${healthy.url}/items`)).status).toBe(200);
    expect(breakerOf(registry.get(dead)).state).toBe('open');
  });

  it('where one breaker for every origin turns the healthy origin away too (what perOrigin prevents)', async () => {
    const shared = new CircuitBreaker({ failureThreshold: 2, openDuration: 60_000 });
    const api = resilientFetch(wrap(retryWithBackoff({ maxRetries: 1, initialDelay: 1, jitter: 'none' }), shared));
    expect((await api(`${sick.url}/items`)).status).toBe(503);
    await expect(api(`${healthy.url}/items`)).rejects.toBeInstanceOf(BrokenCircuitError);
  });

  it('keys a string, a URL and a Request by origin alone, and gives create that origin', async () => {
    const { registry, create } = perOriginRegistry();
    const api = resilientFetch({ perOrigin: registry });
    await api(`${healthy.url}/a?x=1`);
    await api(new URL(`${healthy.url}/b`));
    await api(new Request(`${healthy.url}/c`, { method: 'POST', body: 'x' })); // sent once, through the same policy
    expect(create.mock.calls).toEqual([[healthy.url]]);
    expect(breakerOf(registry.get(healthy.url)).stats().calls).toBe(3);
  });

  it('counts a request in flight, so its origin is not evicted while it runs', async () => {
    healthy.script('/slow', { status: 200, delay: 100 });
    const { registry } = perOriginRegistry({ maxKeys: 1 });
    const evicted: string[] = [];
    registry.on('evict', ({ key }) => evicted.push(key));
    const api = resilientFetch({ perOrigin: registry });
    const slow = api(`${healthy.url}/slow`);
    await api(`${sick.url}/other`); // a second origin while the first is in flight
    expect(evicted).toEqual([]);
    expect((await slow).status).toBe(200);
  });

  it('rejects a URL it cannot parse with a TypeError, creating no entry', async () => {
    const { registry, create } = perOriginRegistry();
    await expect(resilientFetch({ perOrigin: registry })('not a url')).rejects.toThrow(TypeError);
    expect(create).not.toHaveBeenCalled();
  });

  it('refuses a perOrigin that is no PolicyRegistry, and a policy given beside it, when created', () => {
    const { registry } = perOriginRegistry();
    expect(() => resilientFetch({ perOrigin: new CircuitBreaker() as never })).toThrow(
      new TypeError('resilientFetch: option "perOrigin" must be a PolicyRegistry, got an object'),
    );
    expect(() => resilientFetch(new CircuitBreaker(), { perOrigin: registry })).toThrow(/exclude each other/);
    expect(() => resilientFetch({ perOrigin: undefined })).not.toThrow();
  });
});
