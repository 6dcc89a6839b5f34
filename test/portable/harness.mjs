// A tiny test harness that runs identically on Node, Deno, Bun and browsers: no test
// framework, no fake timers (those are runner-specific), only real short timers.
// It also watches what the library leaves behind: every setTimeout/setInterval
// the library starts must be gone when a test ends, and no rejection may go
// unhandled.

const realSetTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;

/** Resolves after `ms` ms of a real timer that the leak check does not count. */
export function delay(ms) {
  return new Promise((resolve) => realSetTimeout(resolve, ms));
}

/** A promise that never settles (a hung call). */
export function never() {
  return new Promise(() => {});
}

// ---- timers started by anything but the harness (i.e. by the library) ----

const liveTimers = new Set();

/** Counts timers from here on; call it before the library is imported. */
export function trackTimers() {
  const { setTimeout: st, clearTimeout: ct, setInterval: si, clearInterval: ci } = globalThis;
  globalThis.setTimeout = function setTimeout(callback, ms, ...args) {
    let handle;
    const fire = typeof callback === 'function' ? (...a) => (liveTimers.delete(handle), callback(...a)) : callback;
    handle = st(fire, ms, ...args);
    liveTimers.add(handle);
    return handle;
  };
  globalThis.clearTimeout = function clearTimeout(handle) {
    liveTimers.delete(handle);
    return ct(handle);
  };
  globalThis.setInterval = function setInterval(callback, ms, ...args) {
    const handle = si(callback, ms, ...args);
    liveTimers.add(handle);
    return handle;
  };
  globalThis.clearInterval = function clearInterval(handle) {
    liveTimers.delete(handle);
    return ci(handle);
  };
}

// ---- abort listeners on a caller's signal ----

/**
 * An AbortController whose signal counts its 'abort' listeners, to prove that
 * a policy removes every listener it added to the caller's signal.
 */
export function trackedController() {
  const controller = new AbortController();
  const signal = controller.signal;
  const listeners = new Set();
  // A { once } listener is gone after it fired: a helper of our own, added after
  // it, forgets it then (and is removed with it, so helpers never pile up).
  const forgetters = new Map();
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = (type, listener, options) => {
    if (type === 'abort' && !listeners.has(listener)) {
      listeners.add(listener);
      if (typeof options === 'object' && options !== null && options.once) {
        const forget = () => {
          listeners.delete(listener);
          forgetters.delete(listener);
        };
        forgetters.set(listener, forget);
        add('abort', forget, { once: true });
      }
    }
    return add(type, listener, options);
  };
  signal.removeEventListener = (type, listener, options) => {
    if (type === 'abort') {
      listeners.delete(listener);
      const forget = forgetters.get(listener);
      if (forget !== undefined) {
        forgetters.delete(listener);
        remove('abort', forget);
      }
    }
    return remove(type, listener, options);
  };
  return { controller, signal, abort: (reason) => controller.abort(reason), listeners: () => listeners.size };
}

// ---- unhandled rejections ----

const unhandled = [];

export function trackUnhandledRejections() {
  // Node and Bun: the process event. Deno and browsers: the web event.
  if (typeof globalThis.Deno === 'undefined' && typeof globalThis.process?.on === 'function') {
    globalThis.process.on('unhandledRejection', (reason) => unhandled.push(reason));
    // Too many listeners on one signal is a leak in the making: fail the test that caused it.
    globalThis.process.on('warning', (warning) => {
      if (warning?.name === 'MaxListenersExceededWarning') unhandled.push(warning);
    });
  } else {
    globalThis.addEventListener('unhandledrejection', (event) => {
      event.preventDefault();
      unhandled.push(event.reason);
    });
  }
}

// ---- assertions ----

export class AssertionError extends Error {
  name = 'AssertionError';
}

function show(value) {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  if (typeof value === 'function') return `[function ${value.name}]`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function fail(message, detail) {
  throw new AssertionError(detail === undefined ? message : `${message}: ${detail}`);
}

export const assert = {
  ok(value, message = 'expected a truthy value') {
    if (!value) fail(message, show(value));
  },
  equal(actual, expected, message = 'values differ') {
    if (!Object.is(actual, expected)) fail(message, `got ${show(actual)}, expected ${show(expected)}`);
  },
  deepEqual(actual, expected, message = 'values differ') {
    const a = show(actual);
    const b = show(expected);
    if (a !== b) fail(message, `got ${a}, expected ${b}`);
  },
  /** Awaits `promise`, which must reject; `check` is an error name, a class, or a predicate. Returns the error. */
  async rejects(promise, check, message = 'expected a rejection') {
    let settled;
    try {
      settled = await promise;
    } catch (error) {
      if (typeof check === 'string' && (!(error instanceof Error) || error.name !== check)) {
        fail(message, `rejected with ${show(error)}, expected a ${check}`);
      }
      if (typeof check === 'function' && check.prototype instanceof Error && !(error instanceof check)) {
        fail(message, `rejected with ${show(error)}, expected a ${check.name}`);
      }
      if (typeof check === 'function' && !(check.prototype instanceof Error) && check !== Error && !check(error)) {
        fail(message, `rejected with ${show(error)}, which the check refused`);
      }
      return error;
    }
    fail(message, `resolved with ${show(settled)}`);
  },
  /** `fn()` must throw synchronously an instance of `ErrorClass` whose message contains `text`. */
  throws(fn, ErrorClass, text, message = 'expected a throw') {
    try {
      fn();
    } catch (error) {
      if (!(error instanceof ErrorClass)) fail(message, `threw ${show(error)}, expected a ${ErrorClass.name}`);
      if (text !== undefined && !String(error.message).includes(text)) fail(message, `message ${show(error.message)} lacks ${show(text)}`);
      return error;
    }
    fail(message, 'nothing was thrown');
  },
};

// ---- tests ----

const tests = [];
let group = '';

/** Names the tests registered next. */
export function describe(name, register) {
  const outer = group;
  group = outer === '' ? name : `${outer} › ${name}`;
  register();
  group = outer;
}

/** Registers a test. `options.timeout` (ms, default 2000) fails a test that hangs. */
export function test(name, fn, options = {}) {
  tests.push({ name: group === '' ? name : `${group} › ${name}`, fn, timeout: options.timeout ?? 2_000 });
}

/** Registers the tests that `register` adds in a list of their own, apart from the main one, and returns it. */
export function collect(register) {
  const saved = tests.splice(0);
  register();
  return tests.splice(0, tests.length, ...saved);
}

/**
 * Runs the registered tests (or `list`) in order; prints one line per failure and
 * a closing count (none when `quiet`). Returns `{ ok, passed, failed, problems }`.
 */
export async function run(label, { filter, list = tests, quiet = false } = {}) {
  let passed = 0;
  let failed = 0;
  const problems = new Map();
  for (const t of list) {
    if (filter !== undefined && !t.name.includes(filter)) continue;
    let timer;
    const error = await Promise.race([
      Promise.resolve().then(t.fn).then(() => undefined, (e) => e ?? new Error('rejected with a nullish reason')),
      new Promise((resolve) => {
        timer = realSetTimeout(() => resolve(new AssertionError(`timed out after ${t.timeout} ms`)), t.timeout);
      }),
    ]);
    realClearTimeout(timer);
    // Let settled callbacks and late rejections surface before the leak checks.
    await delay(1);
    let problem = error;
    if (problem === undefined && liveTimers.size > 0) problem = new AssertionError(`left ${liveTimers.size} timer(s) pending`);
    if (problem === undefined && unhandled.length > 0) {
      const first = unhandled[0];
      problem = new AssertionError(first?.name === 'MaxListenersExceededWarning' ? `${first.name}: ${first.message}` : `unhandled rejection: ${show(first)}`);
    }
    // Start the next test clean whatever happened here.
    for (const handle of liveTimers) realClearTimeout(handle);
    liveTimers.clear();
    unhandled.length = 0;
    if (problem === undefined) passed++;
    else {
      failed++;
      problems.set(t.name, problem);
      if (!quiet) {
        console.log(`not ok - ${t.name}\n  ${problem instanceof Error ? (problem.stack ?? problem.message).split('\n').slice(0, 4).join('\n  ') : show(problem)}`);
      }
    }
  }
  if (!quiet) console.log(`${label}: ${passed} passed, ${failed} failed`);
  return { ok: failed === 0 && passed > 0, passed, failed, problems };
}
