import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TimeoutError } from '../errors.js';
import { settle } from '../../test/helpers/settle.js';
import { StoreLinkImpl } from './link.js';
import type { StoreBackend } from './types.js';

/** A backend whose `ping` answers from a script ('ok', 'fail', 'hang'; the last step repeats), counting calls. */
function scripted(...pings: ('ok' | 'fail' | 'hang')[]) {
  let n = 0;
  const backend = {
    pings: 0,
    rateLimit: vi.fn(),
    breaker: vi.fn(),
    budget: vi.fn(),
    ping(): Promise<unknown> {
      backend.pings++;
      const step = pings[Math.min(n++, pings.length - 1)] ?? 'ok';
      if (step === 'ok') return Promise.resolve('PONG');
      if (step === 'fail') return Promise.reject(new Error('ECONNREFUSED'));
      return new Promise(() => {});
    },
  };
  return backend as typeof backend & StoreBackend;
}

/** An op settled by hand. */
function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject, op: vi.fn(() => promise) };
}

/** Counts the signal's abort listeners that are still attached. */
function countedSignal(controller: AbortController) {
  let listeners = 0;
  const add = controller.signal.addEventListener.bind(controller.signal);
  const remove = controller.signal.removeEventListener.bind(controller.signal);
  controller.signal.addEventListener = ((type: string, l: EventListener, o?: AddEventListenerOptions) => (listeners++, add(type, l, o))) as typeof add;
  controller.signal.removeEventListener = ((type: string, l: EventListener, o?: EventListenerOptions) => (listeners--, remove(type, l, o))) as typeof remove;
  return { signal: controller.signal, listeners: () => listeners };
}

/** Makes the link fail once (an op that rejects), so it is down. */
async function breakLink(link: StoreLinkImpl, error: unknown = new Error('boom')) {
  await link.run(() => Promise.reject(error)).catch(() => {});
  expect(link.down).toBe(true);
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('StoreLinkImpl.run', () => {
  it('resolves with the op result, passing the backend, and leaves no timer or listener', async () => {
    const backend = scripted();
    const link = new StoreLinkImpl(backend, 50);
    const c = countedSignal(new AbortController());
    await expect(link.run(async (b) => (b === backend ? 'value' : 'wrong'), c.signal)).resolves.toBe('value');
    expect(vi.getTimerCount()).toBe(0);
    expect(c.listeners()).toBe(0);
    expect(link.down).toBe(false);
  });

  it('rejects with a TimeoutError once the op is slower than the timeout, and marks the store down', async () => {
    const link = new StoreLinkImpl(scripted('hang'), 50);
    const d = deferred<string>();
    const c = countedSignal(new AbortController());
    const call = settle(link.run(d.op, c.signal));
    await vi.advanceTimersByTimeAsync(49);
    expect(call.state().status).toBe('pending');
    await vi.advanceTimersByTimeAsync(1);
    const state = call.state();
    expect(state.status).toBe('rejected');
    const reason = (state as { reason: TimeoutError }).reason;
    expect(reason).toBeInstanceOf(TimeoutError);
    expect(reason.timeout).toBe(50);
    expect(link.down).toBe(true);
    expect(c.listeners()).toBe(0);
    // The late answer (or failure) is swallowed: no unhandled rejection (vitest would fail the run).
    d.reject(new Error('late'));
    await vi.advanceTimersByTimeAsync(0);
  });

  it('a late success of a timed-out op does not bring the store up', async () => {
    const link = new StoreLinkImpl(scripted('hang'), 50);
    const d = deferred<string>();
    const call = settle(link.run(d.op));
    await vi.advanceTimersByTimeAsync(50);
    d.resolve('late');
    await vi.advanceTimersByTimeAsync(0);
    expect(call.state().status).toBe('rejected');
    expect(link.down).toBe(true);
  });

  it('an error of the op (thrown or rejected) rejects with it and marks the store down', async () => {
    const error = new Error('READONLY');
    const link = new StoreLinkImpl(scripted('hang'), 50);
    await expect(
      link.run(() => {
        throw error;
      }),
    ).rejects.toBe(error);
    expect(link.down).toBe(true);
  });

  it('while down, rejects at once with the outage error without calling the backend', async () => {
    const first = new Error('first');
    const link = new StoreLinkImpl(scripted('fail'), 50);
    await breakLink(link, first);
    const op = vi.fn(() => Promise.resolve(1));
    const call = settle(link.run(op));
    await Promise.resolve();
    await Promise.resolve();
    expect(call.state()).toEqual({ status: 'rejected', reason: first });
    expect(op).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(1); // the probe only
  });

  it('an abort of the signal rejects with its reason, is no store failure, and leaves nothing behind', async () => {
    const link = new StoreLinkImpl(scripted(), 50);
    const d = deferred<string>();
    const controller = new AbortController();
    const c = countedSignal(controller);
    const call = settle(link.run(d.op, c.signal));
    await vi.advanceTimersByTimeAsync(10);
    const reason = new Error('caller gave up');
    controller.abort(reason);
    await vi.advanceTimersByTimeAsync(0);
    expect(call.state()).toEqual({ status: 'rejected', reason });
    expect(link.down).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
    expect(c.listeners()).toBe(0);
    d.reject(new Error('late'));
    await vi.advanceTimersByTimeAsync(100);
    expect(link.down).toBe(false);
  });

  it('bounds many operations in flight with one timer, each timing out at its own deadline, and stops it once none is left', async () => {
    const link = new StoreLinkImpl(scripted('hang'), 50);
    const ops = [deferred<string>(), deferred<string>(), deferred<string>(), deferred<string>()];
    const calls = [settle(link.run(ops[0]!.op))];
    await vi.advanceTimersByTimeAsync(10);
    calls.push(settle(link.run(ops[1]!.op)));
    await vi.advanceTimersByTimeAsync(10);
    calls.push(settle(link.run(ops[2]!.op)), settle(link.run(ops[3]!.op)));
    expect(vi.getTimerCount()).toBe(1);
    // The oldest answers: the others keep their own deadlines (60 and 70 ms).
    ops[0]!.resolve('first');
    await vi.advanceTimersByTimeAsync(0);
    expect(calls.map((c) => c.state().status)).toEqual(['fulfilled', 'pending', 'pending', 'pending']);
    await vi.advanceTimersByTimeAsync(39); // 59 ms
    expect(calls.map((c) => c.state().status)).toEqual(['fulfilled', 'pending', 'pending', 'pending']);
    ops[2]!.resolve('third');
    await vi.advanceTimersByTimeAsync(1); // 60 ms: the second is past its deadline
    expect(calls.map((c) => c.state().status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'pending']);
    expect((calls[1]!.state() as { reason: unknown }).reason).toBeInstanceOf(TimeoutError);
    await vi.advanceTimersByTimeAsync(9);
    expect(calls[3]!.state().status).toBe('pending');
    await vi.advanceTimersByTimeAsync(1); // 70 ms
    expect(calls[3]!.state().status).toBe('rejected');
    // Only the probe's timer is left (the store is down after the timeout).
    expect(link.down).toBe(true);
    expect(vi.getTimerCount()).toBe(1);
  });

  it('stops the deadline timer when the last operation in flight settles', async () => {
    const link = new StoreLinkImpl(scripted(), 50);
    const a = deferred<string>();
    const b = deferred<string>();
    const first = link.run(a.op);
    const second = link.run(b.op);
    expect(vi.getTimerCount()).toBe(1);
    b.resolve('b');
    await second;
    expect(vi.getTimerCount()).toBe(1);
    a.resolve('a');
    await first;
    expect(vi.getTimerCount()).toBe(0);
    // And starts again with the next.
    const c = deferred<string>();
    const third = settle(link.run(c.op));
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(50);
    expect(third.state().status).toBe('rejected');
  });

  it('an already-aborted signal rejects at once without calling the backend', async () => {
    const link = new StoreLinkImpl(scripted(), 50);
    const op = vi.fn(() => Promise.resolve(1));
    await expect(link.run(op, AbortSignal.abort('why'))).rejects.toBe('why');
    expect(op).not.toHaveBeenCalled();
    expect(link.down).toBe(false);
  });
});

describe('StoreLinkImpl probing', () => {
  it('probes with ping at 100 ms, then doubling up to 1 s, until it answers; then calls each onUp once with the downtime', async () => {
    const backend = scripted('fail', 'fail', 'fail', 'fail', 'fail', 'ok');
    const link = new StoreLinkImpl(backend, 50);
    await breakLink(link);
    const ups: number[] = [];
    link.onUp((d) => ups.push(d));
    link.onUp((d) => ups.push(-d));
    const pingTimes: number[] = [];
    const start = Date.now();
    const ping = backend.ping.bind(backend);
    backend.ping = () => (pingTimes.push(Date.now() - start), ping());
    // Someone keeps calling (refused while down): probing goes on.
    for (let t = 0; t < 5_000; t += 50) {
      await link.run(async () => 1).catch(() => {});
      await vi.advanceTimersByTimeAsync(50);
    }
    // 100, +200, +400, +800, +1000, +1000
    expect(pingTimes).toEqual([100, 300, 700, 1500, 2500, 3500]);
    expect(link.down).toBe(false);
    expect(ups).toEqual([3500, -3500]);
    // Probing stopped.
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(backend.pings).toBe(6);
  });

  it('bounds each probe by the timeout: a hanging ping is a failed probe', async () => {
    const backend = scripted('hang', 'ok');
    const link = new StoreLinkImpl(backend, 50);
    await breakLink(link);
    const up = vi.fn();
    link.onUp(up);
    await link.run(async () => 1).catch(() => {}); // refused: worth a second probe
    await vi.advanceTimersByTimeAsync(100 + 50);
    expect(link.down).toBe(true);
    await vi.advanceTimersByTimeAsync(200);
    expect(backend.pings).toBe(2);
    expect(link.down).toBe(false);
    expect(up).toHaveBeenCalledExactlyOnceWith(350);
  });

  it('runs reach the backend again once the store is up', async () => {
    const link = new StoreLinkImpl(scripted('ok'), 50);
    await breakLink(link);
    await vi.advanceTimersByTimeAsync(100);
    expect(link.down).toBe(false);
    await expect(link.run(async () => 'again')).resolves.toBe('again');
  });

  it('onUp on a store that is up calls back at once with 0', () => {
    const link = new StoreLinkImpl(scripted(), 50);
    const up = vi.fn();
    link.onUp(up);
    expect(up).toHaveBeenCalledExactlyOnceWith(0);
  });

  it('a cancelled onUp is not called, and is not kept', async () => {
    const link = new StoreLinkImpl(scripted('ok'), 50);
    await breakLink(link);
    const kept = vi.fn();
    const cancelled = vi.fn();
    link.onUp(kept);
    link.onUp(cancelled)();
    await vi.advanceTimersByTimeAsync(100);
    expect(kept).toHaveBeenCalledOnce();
    expect(cancelled).not.toHaveBeenCalled();
  });

  it('a throwing onUp callback does not keep the others from hearing', async () => {
    const link = new StoreLinkImpl(scripted('ok'), 50);
    await breakLink(link);
    const after = vi.fn();
    link.onUp(() => {
      throw new Error('listener bug');
    });
    link.onUp(after);
    await vi.advanceTimersByTimeAsync(100);
    expect(after).toHaveBeenCalledOnce();
  });

  it('stops probing when nobody waits for the store, and starts again on the next run', async () => {
    const backend = scripted('fail');
    const link = new StoreLinkImpl(backend, 50);
    await breakLink(link);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(backend.pings).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
    await expect(link.run(async () => 1)).rejects.toThrow('boom');
    await vi.advanceTimersByTimeAsync(10_000);
    // Probes keep coming while runs keep being refused; one refusal bought one more round.
    expect(backend.pings).toBe(3);
  });

  it('an onUp waiting alone does not keep it probing (no timer left); the next refused run probes again 100 ms later', async () => {
    const backend = scripted('fail', 'fail', 'ok');
    const link = new StoreLinkImpl(backend, 50);
    await breakLink(link);
    const up = vi.fn();
    link.onUp(up); // a policy that met the outage, then fell idle
    await vi.advanceTimersByTimeAsync(60_000);
    expect(backend.pings).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
    expect(up).not.toHaveBeenCalled();
    // A call comes: refused at once, and probing starts again from the first delay.
    await expect(link.run(async () => 1)).rejects.toThrow('boom');
    await vi.advanceTimersByTimeAsync(100);
    expect(backend.pings).toBe(2); // failed; the refusal bought this round and the next
    await vi.advanceTimersByTimeAsync(200);
    expect(backend.pings).toBe(3);
    expect(link.down).toBe(false);
    expect(up).toHaveBeenCalledExactlyOnceWith(60_300);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('keeps probing while runs are refused', async () => {
    const backend = scripted('fail');
    const link = new StoreLinkImpl(backend, 50);
    await breakLink(link);
    for (let i = 0; i < 10; i++) {
      await link.run(async () => 1).catch(() => {});
      await vi.advanceTimersByTimeAsync(1_000);
    }
    expect(backend.pings).toBeGreaterThanOrEqual(9);
  });
});

describe('StoreLinkImpl epochs', () => {
  it('an operation sent before the outage that times out after the recovery marks nothing down', async () => {
    const link = new StoreLinkImpl(scripted('ok'), 1_000);
    const hung = deferred<string>();
    const old = settle(link.run(hung.op)); // its reply is lost with the old connection
    await vi.advanceTimersByTimeAsync(1);
    await breakLink(link);
    await vi.advanceTimersByTimeAsync(100); // the probe finds the store back
    expect(link.down).toBe(false);
    await vi.advanceTimersByTimeAsync(900); // the old operation's deadline
    expect((old.state() as { reason: unknown }).reason).toBeInstanceOf(TimeoutError);
    expect(link.down).toBe(false);
    // And a late error of an old operation neither.
    const failing = deferred<string>();
    const before = settle(link.run(failing.op));
    await breakLink(link);
    await vi.advanceTimersByTimeAsync(100);
    expect(link.down).toBe(false);
    failing.reject(new Error('ECONNRESET'));
    await vi.advanceTimersByTimeAsync(0);
    expect(before.state().status).toBe('rejected');
    expect(link.down).toBe(false);
    // An operation of this epoch still does.
    await breakLink(link);
  });
});

describe('StoreLinkImpl timers', () => {
  it("the probe's timer does not keep the process alive", async () => {
    vi.useRealTimers();
    const link = new StoreLinkImpl(scripted('fail'), 50);
    const before = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    await breakLink(link);
    link.onUp(() => {});
    expect(process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length).toBe(before);
  });
});
