// resilientFetch against a real HTTP server on loopback. Real timers: every
// wait here is a few ms of server delay or backoff, so the file stays fast.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  BrokenCircuitError,
  CircuitBreaker,
  hedge,
  HttpStatusError,
  isFailureResponse,
  resilientFetch,
  retryWithBackoff,
  TimeoutError,
  withFallback,
  withTimeout,
  wrap,
  type FetchFunction,
  type Policy,
  type RetryOptions,
} from '../src/index.js';
import { refusedUrl, startServer, type TestServer } from './helpers/http-server.js';

let server: TestServer;
let paths = 0;
/** A fresh path per test, so counts never mix. */
const path = (name: string): string => `/${name}-${++paths}`;
const url = (p: string): string => server.url + p;

beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server.close();
});

/** A retry with tiny exact delays, recording what it saw. */
function fastRetry(options: RetryOptions = {}) {
  const retry = retryWithBackoff({ maxRetries: 3, initialDelay: 2, jitter: 'none', ...options });
  const delays: number[] = [];
  const errors: unknown[] = [];
  retry.on('retry', ({ delay, error }) => {
    delays.push(delay);
    errors.push(error);
  });
  return { retry, delays, errors };
}

const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A 503 whose body reads `body <id>`; cancelling the body (discarding it unread) pushes `id` onto `cancelled`. */
function failedResponse(id: number, cancelled: number[]): Response {
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      controller.enqueue(new TextEncoder().encode(`body ${id}`));
      controller.close();
    },
    cancel() {
      cancelled.push(id);
    },
  });
  return new Response(body, { status: 503 });
}

describe('resilientFetch: statuses', () => {
  it('resolves a GET answered 503, 503, 200 with the 200 after three requests', async () => {
    const p = path('flaky');
    server.script(p, { status: 503 }, { status: 503 }, { status: 200, body: 'fine' });
    const res = await resilientFetch(fastRetry().retry)(url(p));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('fine');
    expect(server.count(p)).toBe(3);
  });

  it.each([408, 429, 500, 501, 502, 503, 504, 505, 507, 511, 599])('retries a %i without any handleResult', async (status) => {
    const p = path(`s${status}`);
    server.script(p, { status }, { status: 200 });
    const { retry, errors } = fastRetry();
    const res = await resilientFetch(retry)(url(p));
    expect(res.status).toBe(200);
    expect(server.count(p)).toBe(2);
    expect(errors[0]).toBeInstanceOf(HttpStatusError);
    expect((errors[0] as HttpStatusError).status).toBe(status);
  });

  it('retries a 413 only when it carries Retry-After', async () => {
    const withHint = path('413-hint');
    server.script(withHint, { status: 413, headers: { 'retry-after': '0' } }, { status: 200 });
    expect((await resilientFetch(fastRetry().retry)(url(withHint))).status).toBe(200);
    expect(server.count(withHint)).toBe(2);

    const plain = path('413');
    server.script(plain, { status: 413 }, { status: 200 });
    expect((await resilientFetch(fastRetry().retry)(url(plain))).status).toBe(413);
    expect(server.count(plain)).toBe(1);
  });

  it('hands the caller the last failed Response, body readable, when the retries run out', async () => {
    const p = path('down');
    server.script(p, { status: 503, body: 'first' }, { status: 503, body: 'second' }, { status: 502, body: 'last' });
    const res = await resilientFetch(fastRetry({ maxRetries: 2 }).retry)(url(p));
    expect(res.status).toBe(502);
    expect(await res.text()).toBe('last');
    expect(server.count(p)).toBe(3);
  });

  it('treats a 404 as an answer: not retried, not replaced by a fallback', async () => {
    const p = path('missing');
    server.script(p, { status: 404, body: 'no such thing' });
    const { retry, delays } = fastRetry();
    const fallback = withFallback(() => new Response('fallback'));
    const res = await resilientFetch(wrap(fallback, retry))(url(p));
    expect(res.status).toBe(404);
    expect(await res.text()).toBe('no such thing');
    expect(server.count(p)).toBe(1);
    expect(delays).toEqual([]);
  });

  it('lets a fallback replace a failed response', async () => {
    const p = path('fallback');
    server.script(p, { status: 503 });
    const seen: unknown[] = [];
    const fallback = withFallback((outcome) => {
      seen.push('error' in outcome ? outcome.error : outcome.value);
      return new Response('cached', { status: 200 });
    });
    const res = await resilientFetch(wrap(fallback, fastRetry({ maxRetries: 1 }).retry))(url(p));
    expect(await res.text()).toBe('cached');
    expect(server.count(p)).toBe(2);
    expect((seen[0] as HttpStatusError).name).toBe('HttpStatusError');
    expect((seen[0] as HttpStatusError).response.status).toBe(503);
  });

  it('discards the body of a failed response before the retry, and never the one the caller gets', async () => {
    const cancelled: number[] = [];
    let n = 0;
    const fakeFetch: FetchFunction = async () => {
      const id = ++n;
      return failedResponse(id, cancelled);
    };
    const res = await resilientFetch(fastRetry({ maxRetries: 2 }).retry, { fetch: fakeFetch })('http://example.invalid/');
    expect(res.status).toBe(503);
    expect(await res.text()).toBe('body 3');
    expect(cancelled).toEqual([1, 2]);
  });

  it('discards the body of every failed response the caller does not get, when hedged attempts fail side by side', async () => {
    const cancelled: number[] = [];
    let n = 0;
    // Attempt 1 answers 503 after 30 ms, attempt 2 (the hedge, started at 5 ms) a 503 after 40 ms.
    const fakeFetch: FetchFunction = async () => {
      const id = ++n;
      await wait(id === 1 ? 30 : 40);
      return failedResponse(id, cancelled);
    };
    const res = await resilientFetch(hedge({ delay: 5, maxHedges: 1 }), { fetch: fakeFetch })('http://example.invalid/');
    expect(n).toBe(2);
    expect(res.status).toBe(503);
    expect(await res.text()).toBe('body 2'); // the failure that came last
    expect(cancelled).toEqual([1]);
  });
});

describe('resilientFetch: with a circuit breaker', () => {
  it('counts failed responses and opens, without any handleResult; a 404 is never counted', async () => {
    const down = path('breaker-down');
    const missing = path('breaker-404');
    server.script(down, { status: 503 });
    server.script(missing, { status: 404 });
    const breaker = new CircuitBreaker({ failureThreshold: 2, openDuration: 60_000 });
    const api = resilientFetch(breaker);
    for (let i = 0; i < 5; i++) expect((await api(url(missing))).status).toBe(404);
    expect(breaker.stats().failures).toBe(0);
    expect(breaker.state).toBe('closed');
    expect((await api(url(down))).status).toBe(503);
    expect((await api(url(down))).status).toBe(503);
    expect(breaker.state).toBe('open');
    await expect(api(url(down))).rejects.toBeInstanceOf(BrokenCircuitError);
    expect(server.count(down)).toBe(2);
  });

  it('counts a retry around it attempt by attempt, and the retry does not retry the open circuit', async () => {
    const p = path('breaker-retry');
    server.script(p, { status: 500 });
    const breaker = new CircuitBreaker({ failureThreshold: 3, openDuration: 60_000 });
    const { retry, delays } = fastRetry({ maxRetries: 5 });
    await expect(resilientFetch(wrap(retry, breaker))(url(p))).rejects.toBeInstanceOf(BrokenCircuitError);
    expect(server.count(p)).toBe(3);
    expect(delays).toHaveLength(3);
  });

  it('leaves a POST failure uncounted unless the breaker is given isFailureResponse', async () => {
    const p = path('breaker-post');
    server.script(p, { status: 503 });
    const plain = new CircuitBreaker({ failureThreshold: 1 });
    expect((await resilientFetch(plain)(url(p), { method: 'POST' })).status).toBe(503);
    expect(plain.state).toBe('closed');
    const counting = new CircuitBreaker({ failureThreshold: 1, handleResult: isFailureResponse });
    expect((await resilientFetch(counting)(url(p), { method: 'POST' })).status).toBe(503);
    expect(counting.state).toBe('open');
  });
});

describe('resilientFetch: methods and bodies', () => {
  it('sends a POST answered 503 once and returns the 503', async () => {
    const p = path('post');
    server.script(p, { status: 503, body: 'busy' }, { status: 200 });
    const { retry, delays } = fastRetry();
    const res = await resilientFetch(retry)(url(p), { method: 'POST', body: 'x' });
    expect(res.status).toBe(503);
    expect(await res.text()).toBe('busy');
    expect(server.count(p)).toBe(1);
    expect(delays).toEqual([]);
  });

  it('sends a POST whose connection was reset once, even under a retry, and rejects with the network error', async () => {
    const p = path('post-reset');
    server.script(p, { reset: true }, { status: 200 });
    const error = await resilientFetch(fastRetry().retry)(url(p), { method: 'POST', body: 'x' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    await wait(20);
    expect(server.count(p)).toBe(1);
  });

  it('sends a POST whose attempt timed out once, even under a retry, and rejects with the TimeoutError', async () => {
    const p = path('post-timeout');
    server.script(p, { hang: true }, { status: 200 });
    const { retry } = fastRetry();
    const error = await resilientFetch(wrap(retry, withTimeout(100)))(url(p), { method: 'POST', body: 'x' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    await wait(20);
    expect(server.count(p)).toBe(1);
  });

  it('sends a POST once even when a retry is told to retry failed responses', async () => {
    const p = path('post-handle-result');
    server.script(p, { status: 503, body: 'busy' }, { status: 200 });
    const { retry } = fastRetry({ handleResult: isFailureResponse });
    const res = await resilientFetch(retry)(url(p), { method: 'POST', body: 'x' });
    expect(res.status).toBe(503);
    expect(server.count(p)).toBe(1);
  });

  it('shares the one POST between hedged attempts, while a hedged GET sends another and aborts the loser', async () => {
    const post = path('hedge-post');
    server.script(post, { status: 200, body: 'created', delay: 60 });
    const policy = hedge({ delay: 10, maxHedges: 1 });
    const res = await resilientFetch(policy)(url(post), { method: 'POST', body: 'x' });
    expect(await res.text()).toBe('created');
    expect(server.count(post)).toBe(1);

    const get = path('hedge-get');
    server.script(get, { hang: true }, { status: 200, body: 'second' });
    const fast = await resilientFetch(policy)(url(get));
    expect(await fast.text()).toBe('second');
    expect(server.count(get)).toBe(2);
    expect(await server.requests.find((r) => r.path === get)!.closed).toBe(true);
  });

  it('retries a POST when the caller opts in with retryMethods', async () => {
    const p = path('post-opt-in');
    server.script(p, { status: 503 }, { status: 201 });
    const res = await resilientFetch(fastRetry().retry, { retryMethods: ['GET', 'post'] })(url(p), { method: 'POST', body: 'x' });
    expect(res.status).toBe(201);
    expect(server.count(p)).toBe(2);
  });

  it('lets a breaker-like handleResult see a POST failure through isFailureResponse', async () => {
    const p = path('post-fallback');
    server.script(p, { status: 503 });
    const fallback = withFallback(() => new Response('queued for later', { status: 202 }), { handleResult: isFailureResponse });
    const res = await resilientFetch(wrap(fallback, fastRetry().retry))(url(p), { method: 'POST', body: 'x' });
    expect(res.status).toBe(202);
    expect(server.count(p)).toBe(1);
  });

  const form = new FormData();
  form.append('name', 'breakwater');
  form.append('file', new Blob(['bytes'], { type: 'text/plain' }), 'a.txt');
  const bodies: [string, () => BodyInit][] = [
    ['a string', () => 'hello body'],
    ['bytes', () => new TextEncoder().encode('hello bytes')],
    ['an ArrayBuffer', () => new TextEncoder().encode('hello buffer').buffer as ArrayBuffer],
    ['URLSearchParams', () => new URLSearchParams({ a: '1', b: 'two words' })],
    ['FormData', () => form],
    ['a Blob', () => new Blob(['hello blob'], { type: 'application/octet-stream' })],
  ];
  it.each(bodies)('sends %s identically on every attempt', async (_name, make) => {
    const p = path('body');
    server.script(p, { status: 503 }, { status: 503 }, { status: 200 });
    const res = await resilientFetch(fastRetry().retry)(url(p), { method: 'PUT', body: make() });
    expect(res.status).toBe(200);
    const sent = server.requests.filter((r) => r.path === p);
    expect(sent).toHaveLength(3);
    // A multipart boundary is new on every request; the parts must not be.
    const normalise = (r: (typeof sent)[number]): string => {
      const boundary = /boundary=(.+)$/.exec(r.headers['content-type'] ?? '')?.[1];
      return boundary === undefined ? r.body : r.body.split(boundary).join('BOUNDARY');
    };
    expect(sent[0]!.body.length).toBeGreaterThan(0);
    expect(new Set(sent.map(normalise)).size).toBe(1);
    expect(new Set(sent.map((r) => r.headers['content-type']?.replace(/boundary=.+$/, ''))).size).toBe(1);
  });

  it('sends a Request object, body included, identically on every attempt', async () => {
    const p = path('request');
    server.script(p, { status: 500 }, { status: 200 });
    const request = new Request(url(p), { method: 'PUT', body: 'from a Request', headers: { 'x-token': 't' } });
    const res = await resilientFetch(fastRetry().retry)(request);
    expect(res.status).toBe(200);
    const sent = server.requests.filter((r) => r.path === p);
    expect(sent.map((r) => [r.method, r.body, r.headers['x-token']])).toEqual([
      ['PUT', 'from a Request', 't'],
      ['PUT', 'from a Request', 't'],
    ]);
  });

  it('sends a one-shot stream body once and returns the failure', async () => {
    const p = path('stream-body');
    server.script(p, { status: 503 }, { status: 200 });
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('streamed'));
        controller.close();
      },
    });
    const init = { method: 'PUT', body, duplex: 'half' } as RequestInit;
    const res = await resilientFetch(fastRetry().retry)(url(p), init);
    expect(res.status).toBe(503);
    expect(server.count(p)).toBe(1);
    expect(server.requests.find((r) => r.path === p)?.body).toBe('streamed');
  });
});

describe('resilientFetch: Retry-After', () => {
  async function delayFor(retryAfter: string, options: { maxRetryAfter?: number } = {}) {
    const p = path('retry-after');
    server.script(p, { status: 429, headers: { 'retry-after': retryAfter } }, { status: 200 });
    const { retry, delays, errors } = fastRetry({ initialDelay: 7, maxDelay: 40 });
    const res = await resilientFetch(retry, options)(url(p));
    return { res, p, delays, hint: (errors[0] as HttpStatusError | undefined)?.retryAfter };
  }

  it('turns delta-seconds into error.retryAfter in ms, which the retry waits (capped by its maxDelay)', async () => {
    const { res, hint, delays } = await delayFor('1');
    expect(res.status).toBe(200);
    expect(hint).toBe(1_000);
    expect(delays).toEqual([40]);
  });

  it('turns an HTTP-date into the time until it', async () => {
    const { hint } = await delayFor(new Date(Date.now() + 3_000).toUTCString());
    // HTTP-dates have whole seconds.
    expect(hint).toBeGreaterThan(1_000);
    expect(hint).toBeLessThanOrEqual(3_000);
  });

  it('reads a date in the past as "retry now"', async () => {
    const { hint, delays } = await delayFor(new Date(Date.now() - 60_000).toUTCString());
    expect(hint).toBe(0);
    expect(delays).toEqual([0]);
  });

  it('falls back to the backoff for a malformed value', async () => {
    const { res, hint, delays } = await delayFor('in a while');
    expect(res.status).toBe(200);
    expect(hint).toBeUndefined();
    expect(delays).toEqual([7]);
  });

  it('gives up at once, handing the caller the response, when Retry-After exceeds maxRetryAfter', async () => {
    const { res, p, delays } = await delayFor('2', { maxRetryAfter: 1_500 });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('2');
    expect(server.count(p)).toBe(1);
    expect(delays).toEqual([]);
  });
});

describe('resilientFetch: timeouts and aborts', () => {
  it('aborts the real socket when a timeout in the policy fires', async () => {
    const p = path('hang');
    server.script(p, { hang: true });
    const error = await resilientFetch(withTimeout(100))(url(p)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(await server.requests.find((r) => r.path === p)!.closed).toBe(true);
  });

  it('retries an attempt that timed out, each on its own socket', async () => {
    const p = path('hang-then-ok');
    server.script(p, { hang: true }, { status: 200, body: 'second try' });
    const res = await resilientFetch(wrap(fastRetry().retry, withTimeout(100)))(url(p));
    expect(await res.text()).toBe('second try');
    expect(await server.requests.find((r) => r.path === p)!.closed).toBe(true);
  });

  it("rejects with the caller's abort reason, aborts the socket, and starts no other attempt", async () => {
    const p = path('caller-abort');
    server.script(p, { hang: true });
    const controller = new AbortController();
    const call = resilientFetch(wrap(fastRetry().retry, withTimeout(5_000)))(url(p), { signal: controller.signal });
    while (server.count(p) === 0) await wait(2);
    const reason = new Error('user navigated away');
    controller.abort(reason);
    await expect(call).rejects.toBe(reason);
    expect(await server.requests.find((r) => r.path === p)!.closed).toBe(true);
    await wait(20);
    expect(server.count(p)).toBe(1);
  });

  it('starts no attempt after a timeout around the retry gave up on the call', async () => {
    const p = path('outer-timeout');
    server.script(p, { status: 503 });
    const { retry } = fastRetry({ maxRetries: 100, initialDelay: 15, multiplier: 1 });
    let started = 0;
    const counting: FetchFunction = (input, init) => {
      started++;
      return fetch(input, init);
    };
    await expect(resilientFetch(wrap(withTimeout(40), retry), { fetch: counting })(url(p))).rejects.toBeInstanceOf(TimeoutError);
    const before = started;
    expect(before).toBeGreaterThan(0);
    await wait(60);
    expect(started).toBe(before);
  });

  it('stops waiting between attempts when the caller aborts', async () => {
    const p = path('abort-in-delay');
    server.script(p, { status: 503 });
    const controller = new AbortController();
    const { retry } = fastRetry({ initialDelay: 5_000 });
    retry.on('retry', () => controller.abort('stop'));
    await expect(resilientFetch(retry)(url(p), { signal: controller.signal })).rejects.toBe('stop');
    expect(server.count(p)).toBe(1);
  });

  it('sends nothing when the signal is already aborted', async () => {
    const p = path('pre-aborted');
    const reason = new Error('already');
    await expect(resilientFetch(fastRetry().retry)(url(p), { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    await expect(resilientFetch(fastRetry().retry)(url(p), { method: 'POST', signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(server.count(p)).toBe(0);
  });

  it('lets a body that outlives the timeout be read to the end after the call resolved', async () => {
    const p = path('slow-body');
    server.script(p, { stream: ['a', 'b', 'c', 'd', 'e'], interval: 50 });
    const controller = new AbortController();
    const res = await resilientFetch(wrap(fastRetry().retry, withTimeout(100)))(url(p), { signal: controller.signal });
    expect(await res.text()).toBe('abcde'); // ~200 ms of body after a 100 ms timeout
    expect(server.count(p)).toBe(1);
  });

  it("still lets the caller's signal stop a body that streams after the call resolved, with no timeout in the pipeline", async () => {
    const p = path('slow-body-abort');
    server.script(p, { stream: ['a', 'b', 'c', 'd', 'e'], interval: 20 });
    const controller = new AbortController();
    const res = await resilientFetch(fastRetry().retry)(url(p), { signal: controller.signal });
    const reader = res.body!.getReader();
    await reader.read();
    controller.abort(new Error('enough'));
    await expect(reader.read()).rejects.toThrow('enough');
    expect(await server.requests.find((r) => r.path === p)!.closed).toBe(true);
  });
});

describe('resilientFetch: network errors', () => {
  it('retries a reset connection like a 5xx', async () => {
    const p = path('reset');
    server.script(p, { reset: true }, { status: 200, body: 'recovered' });
    const { retry, errors } = fastRetry();
    const res = await resilientFetch(retry)(url(p));
    expect(await res.text()).toBe('recovered');
    expect(errors[0]).toBeInstanceOf(TypeError);
  });

  it('retries a refused connection, then rejects with the TypeError', async () => {
    const { retry, errors } = fastRetry({ maxRetries: 2 });
    const error = await resilientFetch(retry)(await refusedUrl()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect(errors).toHaveLength(2);
  });
});

describe('resilientFetch: defaults and options', () => {
  it('runs the default pipeline (retry around a per-attempt timeout) when no policy is given', async () => {
    const p = path('default');
    server.script(p, { hang: true }, { status: 503 }, { status: 200, body: 'third' });
    const res = await resilientFetch(undefined, { timeout: 100 })(url(p));
    expect(await res.text()).toBe('third');
    expect(server.count(p)).toBe(3);
  });

  it('takes the options alone as its only argument: resilientFetch(options)', async () => {
    const p = path('options-first');
    server.script(p, { hang: true }, { status: 503 }, { status: 200, body: 'third' });
    const res = await resilientFetch({ timeout: 100 })(url(p));
    expect(await res.text()).toBe('third');
    expect(server.count(p)).toBe(3);
  });

  it('bounds the default pipeline by totalTimeout: a hung server ends the call after it', async () => {
    const p = path('total-timeout');
    server.script(p, { hang: true });
    const started = performance.now();
    const error = await resilientFetch({ timeout: 100, totalTimeout: 250 })(url(p)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    // The total deadline (250), or the last attempt's own (100) when the retry gave up because its next
    // attempt would have started past the deadline (the default retry's maxElapsedTime): jitter decides.
    expect([100, 250]).toContain((error as TimeoutError).timeout);
    expect(performance.now() - started).toBeLessThan(400); // 4 attempts × 100 ms and their delays would take longer
    expect(server.count(p)).toBeLessThanOrEqual(3);
  });

  it('looks globalThis.fetch up on every call, unless options.fetch is given', async () => {
    const p = path('which-fetch');
    const api = resilientFetch(fastRetry().retry);
    const original = globalThis.fetch;
    const calls: string[] = [];
    globalThis.fetch = (input, init) => {
      calls.push('global');
      return original(input, init);
    };
    try {
      await api(url(p));
      const own = resilientFetch(fastRetry().retry, {
        fetch: (input, init) => {
          calls.push('own');
          return original(input, init);
        },
      });
      await own(url(p));
    } finally {
      globalThis.fetch = original;
    }
    expect(calls).toEqual(['global', 'own']);
  });

  it('calls options.fetch as a plain function, as a browser’s fetch requires (no `this` of its own)', async () => {
    const p = path('this-binding');
    server.script(p, { status: 200 });
    const thisValues: unknown[] = [];
    const strictFetch = function (this: unknown, input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
      thisValues.push(this);
      if (this !== undefined && this !== globalThis) return Promise.reject(new TypeError('Illegal invocation'));
      return fetch(input, init);
    };
    const res = await resilientFetch(fastRetry().retry, { fetch: strictFetch })(url(p));
    expect(res.status).toBe(200);
    expect(thisValues).toEqual([undefined]);
  });

  it("accepts a user's own policy object and still passes the caller's signal to fetch", async () => {
    const p = path('own-policy');
    server.script(p, { hang: true });
    const plain: Policy = { execute: (fn) => Promise.resolve(fn({ signal: new AbortController().signal, attempt: 1 })) };
    const controller = new AbortController();
    const call = resilientFetch(plain)(url(p), { signal: controller.signal });
    while (server.count(p) === 0) await wait(2);
    controller.abort('bye');
    await expect(call).rejects.toBe('bye');
  });

  it('rejects bad options when it is created', () => {
    expect(() => resilientFetch({} as Policy, {})).toThrow(/policy/);
    expect(() => resilientFetch({ execute: 'no' } as never)).toThrow(/policy/);
    expect(() => resilientFetch(null as never)).toThrow(/policy/);
    expect(() => resilientFetch({ totalTimeout: -1 })).toThrow(/totalTimeout/);
    expect(() => resilientFetch(undefined, { totalTimeout: Number.NaN })).toThrow(RangeError);
    expect(() => resilientFetch(undefined, { timeout: -1 })).toThrow(RangeError);
    expect(() => resilientFetch(undefined, { maxRetryAfter: Number.NaN })).toThrow(/maxRetryAfter/);
    expect(() => resilientFetch(undefined, { retryMethods: 'POST' as never })).toThrow(/retryMethods/);
    expect(() => resilientFetch(undefined, { fetch: 'fetch' as never })).toThrow(TypeError);
  });

  it('classifies responses with isFailureResponse', () => {
    expect(isFailureResponse(new Response(null, { status: 503 }))).toBe(true);
    expect(isFailureResponse(new Response(null, { status: 413 }))).toBe(false);
    expect(isFailureResponse(new Response(null, { status: 413, headers: { 'retry-after': '1' } }))).toBe(true);
    expect(isFailureResponse(new Response(null, { status: 404 }))).toBe(false);
    expect(isFailureResponse({ status: 503 })).toBe(false);
  });

  it('gives HttpStatusError its name, status, response and retryAfter', () => {
    const response = new Response(null, { status: 429 });
    const error = new HttpStatusError(undefined, { response, retryAfter: 1_000 });
    expect(error).toMatchObject({ name: 'HttpStatusError', status: 429, response, retryAfter: 1_000, message: 'HTTP 429' });
  });
});

describe('resilientFetch: the default deadline', () => {
  it('ends a request to a hung server after 30 s in all by default, not after 4 attempts of 10 s', async () => {
    vi.useFakeTimers();
    const random = vi.spyOn(Math, 'random').mockReturnValue(0.5);
    try {
      let sent = 0;
      const hung: FetchFunction = (_input, init) => {
        sent++;
        const signal = init!.signal!;
        return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
      };
      let result: unknown = 'pending';
      void resilientFetch({ fetch: hung })('http://example.invalid/').then(
        (value) => (result = value),
        (error: unknown) => (result = error),
      );
      await vi.advanceTimersByTimeAsync(29_999);
      expect(result).toBe('pending');
      await vi.advanceTimersByTimeAsync(1);
      expect(result).toBeInstanceOf(TimeoutError);
      expect((result as TimeoutError).timeout).toBe(30_000);
      expect(sent).toBe(3);
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      random.mockRestore();
      vi.useRealTimers();
    }
  });

  it('answers with the last failed response when a Retry-After would end past totalTimeout, rather than a TimeoutError', async () => {
    vi.useFakeTimers();
    try {
      let sent = 0;
      const unavailable: FetchFunction = async () => (sent++, new Response('busy', { status: 503, headers: { 'retry-after': '29' } }));
      let result: unknown = 'pending';
      void resilientFetch({ fetch: unavailable })('http://example.invalid/').then(
        (value) => (result = value),
        (error: unknown) => (result = error),
      );
      await vi.advanceTimersByTimeAsync(29_000);
      expect(sent).toBe(2); // the retry at 29 s fits in 30 s; the next one (at 58 s) would not
      await vi.advanceTimersByTimeAsync(0);
      expect(result).toBeInstanceOf(Response);
      expect((result as Response).status).toBe(503);
      expect(await (result as Response).text()).toBe('busy');
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('has no overall deadline with totalTimeout: Infinity, nor when a policy is given', async () => {
    vi.useFakeTimers();
    try {
      // Nothing can abort the second call's attempt: it gets no signal, and hangs for good.
      const hung: FetchFunction = (_input, init) =>
        new Promise((_, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal!.reason), { once: true }));
      const results: unknown[] = ['pending', 'pending'];
      const calls = [
        resilientFetch({ fetch: hung, totalTimeout: Infinity, timeout: 20_000 }),
        resilientFetch(retryWithBackoff({ maxRetries: 0 }), { fetch: hung, totalTimeout: 1 }),
      ].map((api, i) => api('http://example.invalid/').then((value) => (results[i] = value), (error: unknown) => (results[i] = error)));
      await vi.advanceTimersByTimeAsync(30_000);
      expect(results).toEqual(['pending', 'pending']);
      await vi.advanceTimersByTimeAsync(60_000); // four attempts of 20 s end the first; nothing ends the second
      expect(results[0]).toBeInstanceOf(TimeoutError);
      expect((results[0] as TimeoutError).timeout).toBe(20_000);
      expect(results[1]).toBe('pending');
      void calls;
    } finally {
      vi.clearAllTimers();
      vi.useRealTimers();
    }
  });
});
