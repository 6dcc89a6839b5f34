import { failed, HttpStatusError } from './http-status.js';
import { Ctx, settleOnce } from './internal/context.js';
import { finals } from './internal/final.js';
import { parseRetryAfter } from './internal/retry-after.js';
import { INFINITE, functionOption, invalid, numberOption, objectOptions } from './internal/validate.js';
import { wrap, type Policy, type PolicyContext } from './policy.js';
import type { PolicyRegistry } from './registry.js';
import { retryWithBackoff } from './retry.js';
import { withTimeout } from './timeout.js';

/** `fetch`'s signature: what {@link resilientFetch} takes in `options.fetch` and returns. */
export type FetchFunction = (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>;

/** Options of {@link resilientFetch}. */
export interface ResilientFetchOptions {
  /**
   * The fetch that sends each attempt.
   * @default globalThis.fetch, looked up on every call (so a test may stub it later)
   */
  readonly fetch?: FetchFunction | undefined;
  /**
   * Per-attempt timeout in ms of the default pipeline; used only when no policy is given.
   * `Infinity` turns it off.
   * @default 10_000
   */
  readonly timeout?: number | undefined;
  /**
   * Overall deadline in ms of the default pipeline: all attempts and the delays between them
   * together (a request to a hung server ends after this, not after every attempt's `timeout`).
   * Used only when no policy is given. `Infinity` turns it off.
   * @default 30_000
   */
  readonly totalTimeout?: number | undefined;
  /**
   * Methods whose requests may be sent more than once. A request with another method
   * (POST, PATCH, …) or with a one-shot `ReadableStream` body reaches the server at most once.
   * Add `'POST'` when your server deduplicates, e.g. by an idempotency key.
   * @default ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']
   */
  readonly retryMethods?: readonly string[] | undefined;
  /**
   * The longest `Retry-After` wait, in ms, worth waiting for. A failure whose
   * `Retry-After` asks for longer is not retried: the caller gets that response
   * at once (as ky and got do). Keep it at most your retry's `maxDelay`, which caps every wait.
   * @default 30_000
   */
  readonly maxRetryAfter?: number | undefined;
  /**
   * A {@link PolicyRegistry} whose policy for a request's origin (`new URL(url).origin`,
   * e.g. `'https://api.example.com'`) runs the request, in place of `policy` and of the
   * default pipeline: each origin gets its own breaker (or whole pipeline), so one dead
   * host opens only its own circuit. Its `create` gets the origin.
   * @default none: every request runs through `policy`
   */
  readonly perOrigin?: Pick<PolicyRegistry<Policy<Response>>, 'execute' | 'get'> | undefined;
}

// Bodies fetch can send again from the same value; a ReadableStream (or an async iterable) is read once.
function replayable(body: RequestInit['body']): boolean {
  return (
    body == null ||
    typeof body === 'string' ||
    body instanceof ArrayBuffer ||
    ArrayBuffer.isView(body) ||
    body instanceof URLSearchParams ||
    (typeof Blob !== 'undefined' && body instanceof Blob) ||
    (typeof FormData !== 'undefined' && body instanceof FormData)
  );
}

function discard(response: Response): void {
  // Frees the connection; a body that already ended or errored is of no interest.
  response.body?.cancel().catch(() => {});
}

function discardAll(responses: readonly Response[], keep: Response | undefined): void {
  for (const response of responses) if (response !== keep) discard(response);
}

/**
 * Each attempt's signal: `ctx.signal`, which built-in policies chain to the
 * caller's signal while the call runs. Only a user's own policy, which may
 * hand over a signal of its own, gets the caller's added with
 * `AbortSignal.any` — per call that would grow the heap of a long-lived
 * caller signal on Node 20 and 22. `undefined` when nothing can abort the
 * attempt: reading `ctx.signal` would build an AbortController for nothing.
 */
function attemptSignal(ctx: PolicyContext, caller: AbortSignal | undefined): AbortSignal | undefined {
  if (ctx instanceof Ctx) {
    if (!ctx.abortable) return undefined;
    if (ctx.callerSignal === caller) return ctx.signal;
  }
  const signal = ctx.signal;
  if (caller === undefined || signal === caller || typeof AbortSignal.any !== 'function') return signal;
  return AbortSignal.any([signal, caller]);
}

const IDEMPOTENT = ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE'];
const OWNER = 'resilientFetch';

interface Config {
  readonly policy: Policy<Response>;
  readonly origins: ResilientFetchOptions['perOrigin'];
  readonly fetch: FetchFunction | undefined;
  readonly methods: ReadonlySet<string>;
  readonly maxRetryAfter: number;
}

/**
 * Wraps `fetch` in a policy. The returned function has `fetch`'s signature;
 * every request runs through `policy`, and each attempt's fetch gets
 * `ctx.signal` together with the caller's `init.signal`. Without a policy,
 * the default pipeline runs: a `retryWithBackoff()` with the contract's
 * defaults around a per-attempt `withTimeout(options.timeout)` (10 s), all
 * inside `withTimeout(options.totalTimeout)` (30 s). Call it as
 * `resilientFetch(options)`, `resilientFetch(policy)` or `resilientFetch(policy, options)`.
 *
 * - 408, 429, every 5xx (and 413 with `Retry-After`) and network errors
 *   are failures inside the policy, thrown as {@link HttpStatusError}; when the
 *   policy gives up, the caller gets that last `Response`, as plain fetch would.
 *   Other statuses (404 …) are answers.
 * - Only `retryMethods` (the idempotent ones) are retried; any other request is
 *   sent once, and its failure status is returned as an answer.
 * - `Retry-After` sets the wait before the retry, up to `maxRetryAfter`.
 * - `perOrigin` runs each origin's requests through its own policy from a
 *   {@link PolicyRegistry}: one dead host opens only its own circuit.
 *
 * @example
 * ```ts
 * import { CircuitBreaker, resilientFetch, retryWithBackoff, withTimeout, wrap } from 'breakwater';
 *
 * const api = resilientFetch(wrap(retryWithBackoff({ maxRetries: 2 }), new CircuitBreaker(), withTimeout(2_000)));
 * const res = await api('https://api.example.com/items', { headers: { accept: 'application/json' } });
 * if (res.ok) console.log(await res.json());
 * ```
 */
export function resilientFetch(options?: ResilientFetchOptions): FetchFunction;
/** `policy` in place of the default pipeline; `options` as above (`timeout` and `totalTimeout` then unused). */
export function resilientFetch(policy: Policy<Response> | undefined, options?: ResilientFetchOptions): FetchFunction;
/* @__NO_SIDE_EFFECTS__ */
export function resilientFetch(first?: Policy<Response> | ResilientFetchOptions, options?: ResilientFetchOptions): FetchFunction {
  let policy = first as Policy<Response> | undefined;
  // Alone, a plain object without `execute` is the options: a policy always has one.
  if (options === undefined && typeof first === 'object' && first !== null && !('execute' in first)) {
    options = first;
    policy = undefined;
  }
  const o = objectOptions<ResilientFetchOptions>(OWNER, options, 'fetch timeout totalTimeout retryMethods maxRetryAfter perOrigin');
  if (policy !== undefined && (policy === null || typeof policy !== 'object' || typeof policy.execute !== 'function')) {
    invalid(OWNER, 'policy', 'a policy with an execute method', policy);
  }
  const origins = o.perOrigin;
  if (origins !== undefined) {
    if (origins === null || typeof origins !== 'object' || typeof origins.execute !== 'function' || typeof origins.get !== 'function') {
      invalid(OWNER, 'perOrigin', 'a PolicyRegistry', origins);
    }
    if (policy !== undefined) throw new TypeError(`${OWNER}: a policy and option "perOrigin" exclude each other; put the policy in perOrigin's create`);
  }
  const timeout = numberOption(OWNER, 'timeout', o.timeout, 10_000, INFINITE);
  const total = numberOption(OWNER, 'totalTimeout', o.totalTimeout, 30_000, INFINITE);
  // Only `undefined` means the default: null is a mistake to report.
  const methods = o.retryMethods === undefined ? IDEMPOTENT : o.retryMethods;
  if (!Array.isArray(methods) || !methods.every((m) => typeof m === 'string')) {
    invalid(OWNER, 'retryMethods', 'an array of method names', methods);
  }
  const config: Config = {
    // The retry gives up on a wait that would end past the total deadline, so the caller gets the
    // last failed response (a 503 with a long Retry-After) instead of a TimeoutError.
    policy:
      policy ??
      (total === Infinity
        ? wrap(retryWithBackoff(), withTimeout(timeout))
        : wrap(withTimeout(total), retryWithBackoff({ maxElapsedTime: total }), withTimeout(timeout))),
    origins,
    fetch: functionOption<FetchFunction>(OWNER, 'fetch', o.fetch),
    methods: new Set(methods.map((m) => m.toUpperCase())),
    maxRetryAfter: numberOption(OWNER, 'maxRetryAfter', o.maxRetryAfter, 30_000, INFINITE),
  };
  return (input, init) => {
    // fetch's shape: a promise, also for bad input (a method that is no string) or a policy that throws.
    try {
      return send(config, input, init);
    } catch (error) {
      return Promise.reject(error);
    }
  };
}

function send(config: Config, input: RequestInfo | URL, init: RequestInit | undefined): Promise<Response> {
  const request = typeof Request !== 'undefined' && input instanceof Request ? input : undefined;
  const method = (init?.method ?? request?.method ?? 'GET').toUpperCase();
  const caller = init?.signal ?? request?.signal ?? undefined;
  const retryable = config.methods.has(method) && replayable(init?.body);
  if (!retryable) return sendOnce(config, request, input, init, caller);

  // Failed responses that a retry or a hedge may follow: each body is discarded when the next
  // attempt starts or when the call ends, unless the caller gets it (until then it may).
  // More than one when hedged attempts fail side by side.
  let failures: Response[] | undefined;
  let ended = false;
  const attempt = (ctx: PolicyContext): Promise<Response> => {
    if (failures !== undefined) discardAll(failures, undefined);
    failures = undefined;
    // A Request's body is a stream: each attempt sends its own clone.
    const target = request !== undefined && request.body !== null ? request.clone() : input;
    return fetchWith(config, target, init, attemptSignal(ctx, caller)).then((response) => {
      if (!failed(response)) return response;
      const retryAfter = parseRetryAfter(response.headers.get('retry-after'));
      if (retryAfter !== undefined && retryAfter > config.maxRetryAfter) return response;
      // A loser's answer after the call ended: nobody can get it.
      if (ended) discard(response);
      else (failures ??= []).push(response);
      throw new HttpStatusError(undefined, { response, retryAfter });
    });
  };
  const end = (answer: Response | undefined): void => {
    ended = true;
    if (failures !== undefined) discardAll(failures, answer);
  };
  return (settleOnce(through(config, request, input, attempt, caller)) as Promise<Response>).then(
    (response) => {
      end(response);
      return response;
    },
    (error: unknown) => {
      const response = answerOf(error);
      end(response);
      if (response !== undefined) return response;
      throw error;
    },
  );
}

/**
 * A request that must reach the server at most once. Its failure statuses are
 * returned, not thrown, so a retry has nothing to retry. Once it went out, the
 * call is final (internal/final.ts): the built-in retry and hedge start no
 * repeat, and its failure reaches outer policies (a fallback, a breaker) as it
 * is. A user's own policy that calls again gets a repeat that sends nothing:
 * the one request's promise, shared while it runs, its outcome afterwards.
 * The caller's signal goes to the policy as it is: no per-request controller.
 */
function sendOnce(
  config: Config,
  request: Request | undefined,
  input: RequestInfo | URL,
  init: RequestInit | undefined,
  caller: AbortSignal | undefined,
): Promise<Response> {
  let first: Promise<Response> | undefined;
  const attempt = (ctx: PolicyContext): Promise<Response> => {
    if (first !== undefined) return first;
    finals.add(attempt);
    return (first = fetchWith(config, input, init, attemptSignal(ctx, caller)));
  };
  return (settleOnce(through(config, request, input, attempt, caller)) as Promise<Response>).then(undefined, answerOrRethrow);
}

/** Runs `attempt` through the policy: `perOrigin`'s for the request's origin when given (an unparsable URL throws). */
function through(
  config: Config,
  request: Request | undefined,
  input: RequestInfo | URL,
  attempt: (ctx: PolicyContext) => Promise<Response>,
  caller: AbortSignal | undefined,
): Promise<Response> {
  if (config.origins === undefined) return config.policy.execute(attempt, caller);
  // Relative to the page in a browser, as fetch resolves it.
  const origin = new URL(request?.url ?? String(input), (globalThis as { location?: { href?: string } }).location?.href).origin;
  return config.origins.execute(origin, attempt, caller);
}

/** A rejection that stands for a response (the policy gave up on it) becomes that response. */
function answerOrRethrow(error: unknown): Response {
  const response = answerOf(error);
  if (response === undefined) throw error;
  return response;
}

function fetchWith(config: Config, input: RequestInfo | URL, init: RequestInit | undefined, signal: AbortSignal | undefined): Promise<Response> {
  const options = signal === undefined ? init : init === undefined ? { signal } : { ...init, signal };
  // Looked up per call, not at creation: a test or a polyfill may replace globalThis.fetch later.
  // Called as a plain function: a browser's fetch throws "Illegal invocation" when `this` is not the global.
  const fetch = config.fetch ?? globalThis.fetch;
  return fetch(input, options);
}

/** The response a rejection stands for: an HttpStatusError's (by name, so another copy's counts). */
function answerOf(error: unknown): Response | undefined {
  if (error instanceof Error && error.name === 'HttpStatusError') {
    const response = (error as { response?: unknown }).response;
    if (typeof Response !== 'undefined' && response instanceof Response) return response;
  }
  return undefined;
}
