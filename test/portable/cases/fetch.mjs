// resilientFetch with each runtime's own Response/Request/AbortSignal, through
// a scripted fetch (no network: the same on every runtime).
import { assert, delay, describe, test, trackedController } from '../harness.mjs';

/** A fetch that answers from a script of statuses (or errors); records every request. */
function scripted(...script) {
  const requests = [];
  const fetch = async (input, init) => {
    requests.push({ input, init });
    const next = script.length > 1 ? script.shift() : script[0];
    if (next instanceof Error) throw next;
    const [status, headers] = Array.isArray(next) ? next : [next, {}];
    return new Response(status === 204 ? null : `status ${status}`, { status, headers });
  };
  return { fetch, requests };
}

export function register(bw) {
  const { resilientFetch, retryWithBackoff, withTimeout, wrap, isFailureResponse, HttpStatusError, ResilienceError } = bw;
  const retry = () => retryWithBackoff({ maxRetries: 2, initialDelay: 1 });

  describe('resilientFetch', () => {
    test('retries a failure status and returns the good response; with a timeout, every attempt gets its signal', async () => {
      const { fetch, requests } = scripted(503, 502, 200);
      const res = await resilientFetch(wrap(retry(), withTimeout(1_000)), { fetch })('https://example.test/items');
      assert.equal(res.status, 200);
      assert.equal(await res.text(), 'status 200');
      assert.equal(requests.length, 3);
      assert.ok(requests.every((r) => r.init?.signal instanceof AbortSignal), 'an attempt had no signal');
      assert.ok(new Set(requests.map((r) => r.init.signal)).size === 3, 'attempts share a signal');
    });

    test('when the policy gives up the caller gets the last response, as plain fetch would', async () => {
      const { fetch, requests } = scripted(503);
      const res = await resilientFetch(retry(), { fetch })('https://example.test/items');
      assert.equal(res.status, 503);
      assert.equal(requests.length, 3);
    });

    test('retries network errors; answers such as 404 are not retried', async () => {
      const net = scripted(new TypeError('fetch failed'), 200);
      assert.equal((await resilientFetch(retry(), { fetch: net.fetch })('https://example.test/')).status, 200);
      assert.equal(net.requests.length, 2);
      const missing = scripted(404);
      assert.equal((await resilientFetch(retry(), { fetch: missing.fetch })('https://example.test/')).status, 404);
      assert.equal(missing.requests.length, 1);
    });

    test('sends a POST once, and a Request object by its own method', async () => {
      const post = scripted(503, 200);
      const res = await resilientFetch(retry(), { fetch: post.fetch })('https://example.test/orders', { method: 'POST', body: '{}' });
      assert.equal(res.status, 503);
      assert.equal(post.requests.length, 1);
      const req = scripted(503, 200);
      const put = await resilientFetch(retry(), { fetch: req.fetch })(new Request('https://example.test/orders/1', { method: 'PUT', body: 'x' }));
      assert.equal(put.status, 200);
      assert.equal(req.requests.length, 2);
    });

    test('honours Retry-After over the computed delay', async () => {
      const { fetch, requests } = scripted([503, { 'retry-after': '0' }], 200);
      const slow = retryWithBackoff({ initialDelay: 60_000, jitter: 'none' });
      const delays = [];
      slow.on('retry', (e) => delays.push(e.delay));
      assert.equal((await resilientFetch(slow, { fetch })('https://example.test/')).status, 200);
      assert.deepEqual(delays, [0]);
      assert.equal(requests.length, 2);
    });

    test("the caller's init.signal aborts the request and the call", async () => {
      const caller = trackedController();
      const fetch = (_input, init) =>
        new Promise((_, reject) => init.signal.addEventListener('abort', () => reject(init.signal.reason), { once: true }));
      const pending = resilientFetch(retry(), { fetch })('https://example.test/slow', { signal: caller.signal });
      await delay(2);
      const reason = new Error('user navigated away');
      caller.abort(reason);
      assert.equal(await assert.rejects(pending, Error), reason);
    });

    test('isFailureResponse and HttpStatusError', () => {
      assert.equal(isFailureResponse(new Response(null, { status: 503 })), true);
      assert.equal(isFailureResponse(new Response(null, { status: 200 })), false);
      assert.equal(isFailureResponse(new Response(null, { status: 413, headers: { 'retry-after': '1' } })), true);
      assert.equal(isFailureResponse('503'), false);
      const response = new Response(null, { status: 429 });
      const error = new HttpStatusError(undefined, { response, retryAfter: 1_000 });
      assert.equal(error.name, 'HttpStatusError');
      assert.ok(error instanceof ResilienceError);
      assert.equal(error.status, 429);
      assert.equal(error.response, response);
      assert.equal(error.retryAfter, 1_000);
    });

    test('rejects invalid options when created', () => {
      assert.throws(() => resilientFetch(undefined, { timeout: -1 }), RangeError, 'timeout');
      assert.throws(() => resilientFetch(undefined, { retryMethods: 'GET' }), TypeError, 'retryMethods');
      assert.throws(() => resilientFetch({}, {}), TypeError, 'policy'); // alone, {} is the options: resilientFetch(options)
    });
  });
}
