// Failure mode: a request that may be sent only once (a POST) fails, and a
// retry between resilientFetch and an outer fallback or breaker hides it: the
// send-once guard aborted the call as if the caller had, so the fallback let
// the raw error through and the breaker never counted it. Meanwhile the retry
// waited out a backoff delay, emitted `retry` and spent budget for a repeat
// that sends nothing. Real sockets: a refused port and a server that hangs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CircuitBreaker,
  hedge,
  resilientFetch,
  RetryBudget,
  retryWithBackoff,
  TimeoutError,
  withFallback,
  withTimeout,
  wrap,
  type FetchFunction,
  type Policy,
  type PolicyContext,
} from '../../src/index.js';
import { refusedUrl, startServer, type TestServer } from '../helpers/http-server.js';

let server: TestServer;
let closed: string;
beforeAll(async () => {
  server = await startServer();
  closed = await refusedUrl();
});
afterAll(async () => {
  await server.close();
});

const fallback = () => withFallback(() => new Response('fallback', { status: 202 }));
/** A real fetch that counts the requests it sends. */
function counting(): { fetch: FetchFunction; sent: () => number } {
  let sent = 0;
  return {
    fetch: (input, init) => {
      sent++;
      return fetch(input, init);
    },
    sent: () => sent,
  };
}

describe('a POST that fails under a retry', () => {
  it('reaches an outer fallback: a refused connection is replaced, not rethrown', async () => {
    const { fetch, sent } = counting();
    const api = resilientFetch(wrap(fallback(), retryWithBackoff({ initialDelay: 1 })), { fetch });
    const res = await api(closed, { method: 'POST', body: 'x' });
    expect(res.status).toBe(202);
    expect(await res.text()).toBe('fallback');
    expect(sent()).toBe(1);
  });

  it('reaches an outer fallback when a timeout inside the retry fired', async () => {
    server.script('/post-hang', { hang: true });
    const api = resilientFetch(wrap(fallback(), retryWithBackoff({ initialDelay: 1 }), withTimeout(50)));
    const res = await api(server.url + '/post-hang', { method: 'POST', body: 'x' });
    expect(res.status).toBe(202);
    expect(server.count('/post-hang')).toBe(1);
  });

  it('is counted by an outer breaker', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, openDuration: 60_000 });
    const api = resilientFetch(wrap(breaker, retryWithBackoff({ initialDelay: 1 })));
    await expect(api(closed, { method: 'POST', body: 'x' })).rejects.toBeInstanceOf(TypeError);
    expect(breaker.state).toBe('open');
  });

  it('ends at once: no backoff delay, no retry event, no budget spent', async () => {
    const budget = new RetryBudget({ ratio: 0, minRetriesPerSecond: 1 });
    const retry = retryWithBackoff({ initialDelay: 2_000, jitter: 'none', budget });
    const events: string[] = [];
    retry.on('retry', () => events.push('retry'));
    retry.on('giveUp', () => events.push('giveUp'));
    const started = performance.now();
    await expect(resilientFetch(retry)(closed, { method: 'POST', body: 'x' })).rejects.toBeInstanceOf(TypeError);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(events).toEqual([]);
    expect(budget.stats()).toMatchObject({ firstAttempts: 1, retries: 0 });
  });

  it('still lets a retry retry a POST that was never sent (a timeout before fetch was called)', async () => {
    const { fetch, sent } = counting();
    let calls = 0;
    // A user's policy that is slow to call fn on the first attempt only: the timeout fires first.
    const lateFirst: Policy = {
      execute: (fn, signal) =>
        ++calls === 1
          ? new Promise((resolve, reject) => signal!.addEventListener('abort', () => reject(signal!.reason), { once: true }))
          : Promise.resolve(fn({ signal: signal!, attempt: 2 })),
    };
    const api = resilientFetch(wrap(retryWithBackoff({ initialDelay: 1 }), withTimeout(20), lateFirst), { fetch });
    const res = await api(server.url + '/post-late', { method: 'POST', body: 'x' });
    expect(res.status).toBe(200);
    expect(sent()).toBe(1);
  });

  it("gives a user's own retry a repeat that sends nothing and does not look like the caller's abort", async () => {
    const { fetch, sent } = counting();
    const signals: AbortSignal[] = [];
    const errors: unknown[] = [];
    const ownRetry: Policy = {
      async execute<T>(fn: (ctx: PolicyContext) => T | PromiseLike<T>, signal?: AbortSignal): Promise<T> {
        const ctx = { signal: signal ?? new AbortController().signal, attempt: 1 };
        for (let attempt = 1; ; attempt++) {
          signals.push(ctx.signal);
          try {
            return await fn({ ...ctx, attempt });
          } catch (error) {
            errors.push(error);
            if (attempt === 3) throw error;
          }
        }
      },
    };
    const caller = new AbortController();
    const res = await resilientFetch(wrap(fallback(), ownRetry), { fetch })(closed, { method: 'POST', body: 'x', signal: caller.signal });
    expect(res.status).toBe(202);
    expect(sent()).toBe(1);
    expect(errors).toHaveLength(3);
    expect(errors[1]).toBe(errors[0]); // the repeat answers with the one request's outcome
    expect(signals.every((s) => !s.aborted)).toBe(true);
    expect(caller.signal.aborted).toBe(false);
  });

  it('starts no hedge once the one request went out, and emits no hedge event', async () => {
    server.script('/post-slow', { status: 201, delay: 60 });
    const policy = hedge({ delay: 5, maxHedges: 2 });
    const hedges: unknown[] = [];
    policy.on('hedge', (e) => hedges.push(e));
    const res = await resilientFetch(policy)(server.url + '/post-slow', { method: 'POST', body: 'x' });
    expect(res.status).toBe(201);
    expect(server.count('/post-slow')).toBe(1);
    expect(hedges).toEqual([]);
  });

  it('after a hedge, still reaches an outer fallback', async () => {
    const api = resilientFetch(wrap(fallback(), hedge({ delay: 5 })));
    const res = await api(closed, { method: 'POST', body: 'x' });
    expect(res.status).toBe(202);
  });
});
