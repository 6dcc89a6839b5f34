import { getEventListeners } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Ctx, fork, isCalledOff, isSignal, settleOnce, sleep, type AbortListener } from './context.js';

const fn = (): number => 1;

function recorder(): AbortListener & { calls: number } {
  return {
    calls: 0,
    handleEvent() {
      this.calls++;
    },
  };
}

// Counts AbortControllers created while `body` runs.
function countControllers(body: () => void): number {
  const Real = globalThis.AbortController;
  let created = 0;
  globalThis.AbortController = class extends Real {
    constructor() {
      super();
      created++;
    }
  };
  try {
    body();
  } finally {
    globalThis.AbortController = Real;
  }
  return created;
}

describe('ctx.listen', () => {
  it('hears an enclosing scope abort without creating an AbortController', () => {
    const outer = fork(new Ctx(fn, 1, undefined, undefined));
    const inner = fork(outer);
    const listener = recorder();
    const reason = new Error('deadline');
    const created = countControllers(() => {
      inner.listen(listener);
      outer.scope!.abort(reason);
    });
    expect(created).toBe(0);
    expect(listener.calls).toBe(1);
    expect(inner.aborted).toBe(true);
    expect(inner.reason).toBe(reason);
  });

  it('hears the caller signal through every scope, with its reason', () => {
    const controller = new AbortController();
    const inner = fork(fork(new Ctx(fn, 1, undefined, controller.signal)));
    const listener = recorder();
    inner.listen(listener);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    controller.abort('stop');
    expect(listener.calls).toBe(1);
    expect(inner.reason).toBe('stop');
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('unlisten of the last listener leaves nothing on the caller signal', () => {
    const controller = new AbortController();
    const inner = fork(fork(new Ctx(fn, 1, undefined, controller.signal)));
    const a = recorder();
    const b = recorder();
    inner.listen(a);
    inner.listen(b);
    inner.unlisten(a);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    inner.unlisten(b);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    controller.abort();
    expect(a.calls + b.calls).toBe(0);
  });

  it('listens on the caller signal directly when there is no scope, and unlisten removes it', () => {
    const controller = new AbortController();
    const ctx = new Ctx(fn, 1, undefined, controller.signal);
    const listener = recorder();
    ctx.listen(listener);
    ctx.unlisten(listener);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    ctx.listen(listener);
    controller.abort();
    expect(listener.calls).toBe(1);
  });

  it('a signal read after listening still aborts with the scope', () => {
    const outer = fork(new Ctx(fn, 1, undefined, undefined));
    const inner = fork(outer);
    inner.listen(recorder());
    const signal = inner.signal;
    outer.scope!.abort('late');
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe('late');
  });

  it('a released scope no longer follows its caller, like its signal', () => {
    const controller = new AbortController();
    const inner = fork(new Ctx(fn, 1, undefined, controller.signal));
    const listener = recorder();
    inner.listen(listener);
    inner.scope!.release();
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    controller.abort();
    expect(listener.calls).toBe(0);
  });
});

describe('sleep', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('inside a scope: rejects at once with the abort reason, clears its timer, creates no AbortController', async () => {
    const inner = fork(new Ctx(fn, 1, undefined, undefined));
    let slept!: Promise<void>;
    expect(countControllers(() => (slept = sleep(1_000, inner)))).toBe(0);
    const settled = slept.then(
      () => 'resolved',
      (error: unknown) => error,
    );
    expect(vi.getTimerCount()).toBe(1);
    inner.scope!.abort('gone');
    expect(await settled).toBe('gone');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('under a caller signal: resolves after the delay and leaves no listener behind', async () => {
    const controller = new AbortController();
    const inner = fork(new Ctx(fn, 1, undefined, controller.signal));
    let done = false;
    const slept = sleep(100, inner).then(() => (done = true));
    await vi.advanceTimersByTimeAsync(99);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await slept;
    expect(done).toBe(true);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('with nothing that can abort: a plain timer', async () => {
    let done = false;
    const slept = sleep(50, new Ctx(fn, 1, undefined, undefined)).then(() => (done = true));
    await vi.advanceTimersByTimeAsync(50);
    await slept;
    expect(done).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('a caller signal shared by many calls', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('holds one abort listener however many calls wait on it, and none after', async () => {
    const { wrap } = await import('../policy.js');
    const { withTimeout } = await import('../timeout.js');
    const { Bulkhead } = await import('../bulkhead.js');
    const { hedge } = await import('../hedge.js');
    const shared = new AbortController();
    const pipeline = wrap(hedge({ delay: 10_000 }), withTimeout(10_000), new Bulkhead({ maxConcurrent: 5, maxQueue: 100 }));
    const release: Array<() => void> = [];
    const calls = Array.from({ length: 50 }, () =>
      pipeline.execute(
        ({ signal }) =>
          new Promise<string>((resolve) => {
            signal.addEventListener('abort', () => resolve('aborted'), { once: true });
            release.push(() => resolve('done'));
          }),
        shared.signal,
      ),
    );
    await vi.advanceTimersByTimeAsync(0);
    expect(release).toHaveLength(5); // five running, 45 queued: every one of them listens
    expect(getEventListeners(shared.signal, 'abort')).toHaveLength(1);
    release.forEach((r) => r());
    await vi.advanceTimersByTimeAsync(0);
    expect(getEventListeners(shared.signal, 'abort')).toHaveLength(1);
    shared.abort(new Error('shutdown'));
    const outcomes = await Promise.allSettled(calls);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(5);
    expect(outcomes.filter((o) => o.status === 'rejected' && (o.reason as Error).message === 'shutdown')).toHaveLength(45);
    expect(getEventListeners(shared.signal, 'abort')).toHaveLength(0);
  });
});

describe('isCalledOff', () => {
  const timeout = () => new DOMException('deadline', 'TimeoutError');

  it("is the caller's abort, whatever its reason, and not an enclosing timeout's", () => {
    const caller = new AbortController();
    const outer = new Ctx(fn, 1, undefined, caller.signal);
    const timed = fork(outer);
    timed.scope!.abort(timeout());
    expect(isCalledOff(timed)).toBe(false);
    caller.abort(timeout()); // AbortSignal.timeout() as the caller's signal
    expect(isCalledOff(outer)).toBe(true);
  });

  it("inside a user's policy, classifies an abort through its signal as the call outside it would", () => {
    const outer = fork(new Ctx(fn, 1, undefined, undefined));
    const handedBack = new AbortController();
    const inner = new Ctx(fn, 1, undefined, handedBack.signal, outer);
    // The enclosing timeout fires; the user's signal follows it.
    outer.scope!.abort(timeout());
    handedBack.abort(outer.reason);
    expect(isCalledOff(inner)).toBe(false);
    // A hedge that lost, outside: called off.
    const lostOuter = fork(new Ctx(fn, 1, undefined, undefined));
    const lost = new AbortController();
    const lostInner = new Ctx(fn, 1, undefined, lost.signal, lostOuter);
    lostOuter.scope!.abort(new DOMException('lost', 'AbortError'));
    lost.abort(lostOuter.reason);
    expect(isCalledOff(lostInner)).toBe(true);
  });

  it("inside a user's policy, takes the policy's own abort for a failure, not the caller's", () => {
    const outer = new Ctx(fn, 1, undefined, new AbortController().signal);
    const own = new AbortController();
    const inner = new Ctx(fn, 1, undefined, own.signal, outer);
    own.abort(new Error('my policy gave up'));
    expect(isCalledOff(inner)).toBe(false);
  });

  it("keeps the outer call through withAttempt and fork", () => {
    const caller = new AbortController();
    const outer = new Ctx(fn, 1, undefined, caller.signal);
    const handedBack = new AbortController();
    const inner = fork(new Ctx(fn, 1, undefined, handedBack.signal, outer).withAttempt(2));
    caller.abort('stop');
    handedBack.abort('stop');
    expect(isCalledOff(inner)).toBe(true);
    expect(inner.attempt).toBe(2);
  });
});

describe('settleOnce', () => {
  it('hands back a native promise as it is', () => {
    const p = Promise.resolve(1);
    expect(settleOnce(p)).toBe(p);
  });

  it('turns a Promise subclass, or a native promise with its own then, into a native promise that follows it', async () => {
    class Sub<T> extends Promise<T> {}
    const own = Promise.resolve(2);
    Object.defineProperty(own, 'then', { value: () => 'not a promise' });
    for (const [value, expected] of [
      [Sub.resolve(1), 1],
      [own, 2],
    ] as const) {
      const settled = settleOnce(value);
      expect(Object.getPrototypeOf(settled)).toBe(Promise.prototype);
      expect(Object.hasOwn(settled, 'then')).toBe(false);
      await expect(settled).resolves.toBe(expected);
    }
  });
});

describe('isSignal', () => {
  it('knows an AbortSignal, and refuses an AbortController and look-alikes without the brand', () => {
    expect(isSignal(new AbortController().signal)).toBe(true);
    expect(isSignal(AbortSignal.abort())).toBe(true);
    expect(isSignal(new AbortController())).toBe(false);
    expect(isSignal({ aborted: false, addEventListener() {}, removeEventListener() {} })).toBe(false);
    expect(isSignal(null)).toBe(false);
    expect(isSignal('signal')).toBe(false);
  });
});
