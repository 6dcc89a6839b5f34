import { describe, expect, it } from 'vitest';
import { createStore, keyNames } from './store.js';
import type { StoreBackend } from './types.js';

const backend = (): StoreBackend => ({
  rateLimit: () => Promise.reject(new Error('unused')),
  breaker: () => Promise.reject(new Error('unused')),
  budget: () => Promise.reject(new Error('unused')),
  ping: () => Promise.resolve('PONG'),
});

describe('createStore', () => {
  it('builds a store on the backend with the timeout (default 50)', () => {
    const b = backend();
    const store = createStore(b);
    expect(store.link.backend).toBe(b);
    expect(store.link.timeout).toBe(50);
    expect(createStore(b, { timeout: 5 }).link.timeout).toBe(5);
  });

  it('accepts a backend whose methods are inherited (a class instance)', () => {
    class Engine implements StoreBackend {
      rateLimit = backend().rateLimit;
      breaker = backend().breaker;
      budget = backend().budget;
      ping() {
        return Promise.resolve('PONG');
      }
    }
    expect(() => createStore(new Engine())).not.toThrow();
  });

  it('refuses a backend that is not an object, naming it', () => {
    expect(() => createStore(undefined as never)).toThrow(new TypeError('createStore: backend must be an object, got undefined'));
    expect(() => createStore(null as never)).toThrow(TypeError);
  });

  it('refuses a backend without one of the four methods, naming the missing one', () => {
    for (const name of ['rateLimit', 'breaker', 'budget', 'ping'] as const) {
      const b = { ...backend(), [name]: undefined };
      expect(() => createStore(b as never)).toThrow(new TypeError(`createStore: backend.${name} must be a function, got undefined`));
    }
  });

  it('refuses a bad timeout or an unknown option', () => {
    expect(() => createStore(backend(), { timeout: 0 })).toThrow(new RangeError('createStore: option "timeout" must be a number in (0, Infinity), got 0'));
    expect(() => createStore(backend(), { timeout: Infinity })).toThrow(RangeError);
    expect(() => createStore(backend(), { timeot: 1 } as never)).toThrow(`createStore: unknown option 'timeot', did you mean 'timeout'?`);
  });
});

describe('keyNames', () => {
  it('puts the key in a hash tag between the prefix and each suffix', () => {
    expect(keyNames('breakwater:', 'a.b', ['', ':i'])).toEqual(['breakwater:{a.b}', 'breakwater:{a.b}:i']);
  });
});
