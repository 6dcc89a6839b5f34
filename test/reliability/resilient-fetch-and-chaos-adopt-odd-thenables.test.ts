// A user's own policy, a chaos result factory and fetch itself may hand back a
// promise whose own `then` misbehaves, or throw where a promise was due. The
// function resilientFetch returns still has fetch's shape: it always returns a
// native promise that settles once, never throws.
import { describe, expect, it } from 'vitest';
import { chaos, resilientFetch, type Policy } from '../../src/index.js';

/** A native promise whose own `then` calls back twice and returns nothing. */
function twice<T>(value: T): Promise<T> {
  const p = Promise.resolve(value);
  Object.defineProperty(p, 'then', {
    value(onFulfilled: (v: T) => unknown) {
      onFulfilled(value);
      onFulfilled(value);
      return undefined;
    },
  });
  return p;
}

const ok = (): Promise<Response> => Promise.resolve(new Response('ok'));

describe('resilientFetch with a policy of your own', () => {
  it('returns a native promise that settles once when the policy returns a promise whose then calls back twice', async () => {
    const odd: Policy<Response> = { execute: (fn) => twice(fn({ signal: new AbortController().signal, attempt: 1 })) as never };
    for (const method of ['GET', 'POST']) {
      const result = resilientFetch(odd, { fetch: ok })('http://127.0.0.1:1/', { method });
      expect(result).toBeInstanceOf(Promise);
      const res = await result;
      expect(await res.text()).toBe('ok');
    }
  });

  it('rejects, never throws, when the policy throws synchronously', async () => {
    const throwing: Policy<Response> = {
      execute() {
        throw new Error('policy bug');
      },
    };
    for (const method of ['GET', 'POST']) {
      let result: Promise<Response> | undefined;
      expect(() => {
        result = resilientFetch(throwing, { fetch: ok })('http://127.0.0.1:1/', { method });
      }).not.toThrow();
      await expect(result).rejects.toThrow('policy bug');
    }
  });

  it('rejects, never throws, on a method that is not a string (as fetch does)', async () => {
    let result: Promise<Response> | undefined;
    expect(() => {
      result = resilientFetch({ fetch: ok })('http://127.0.0.1:1/', { method: 42 as never });
    }).not.toThrow();
    await expect(result).rejects.toBeInstanceOf(TypeError);
  });
});

describe('chaos with a result factory', () => {
  it('returns what the factory promised, once, when its promise has a then that calls back twice', async () => {
    const seen: unknown[] = [];
    const policy = chaos({ result: () => twice('fake'), resultRate: 1 });
    policy.on('result', ({ value }) => seen.push(value));
    const result = policy.execute(() => 'real');
    expect(result).toBeInstanceOf(Promise);
    await expect(result).resolves.toBe('fake');
    expect(seen).toEqual(['fake']);
  });
});
