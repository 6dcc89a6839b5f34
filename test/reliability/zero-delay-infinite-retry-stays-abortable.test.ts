// Failure mode: a retry with no delay and no limit loops through microtasks
// only, so timers and I/O never run: the caller's abort and an outer timeout
// can never fire and the process hangs at 100% CPU.
// Real timers on purpose: fake ones would hide a starved event loop.
import { describe, expect, it } from 'vitest';
import { TimeoutError, retryWithBackoff, withTimeout, wrap } from '../../src/index.js';

const forever = () => retryWithBackoff({ maxRetries: Infinity, initialDelay: 0, jitter: 'none' });

class Fails extends Error {}

const fns = {
  'throws synchronously': () => {
    throw new Fails();
  },
  'rejects at once': () => Promise.reject(new Fails()),
  'returns a value that handleResult rejects': () => 'not yet',
} as const;

describe('retry with zero delay and maxRetries: Infinity', () => {
  for (const [name, fn] of Object.entries(fns)) {
    it(`ends on the caller's abort when fn ${name}`, async () => {
      const retry = retryWithBackoff({ maxRetries: Infinity, initialDelay: 0, jitter: 'none', handleResult: (v) => v === 'not yet' });
      const caller = new AbortController();
      const reason = new Error('caller gave up');
      setTimeout(() => caller.abort(reason), 20);
      let attempts = 0;
      const error = await retry
        .execute(() => {
          attempts++;
          return fn();
        }, caller.signal)
        .catch((e: unknown) => e);
      expect(error).toBe(reason);
      expect(attempts).toBeGreaterThan(1);
    });
  }

  it('ends at an outer timeout', async () => {
    let attempts = 0;
    const error = await wrap(withTimeout(20), forever())
      .execute(() => {
        attempts++;
        throw new Fails();
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(attempts).toBeGreaterThan(1);
    // Nothing keeps retrying after the timeout.
    const after = attempts;
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(attempts).toBe(after);
  });

  it('lets other timers run while it retries', async () => {
    const caller = new AbortController();
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 1);
    setTimeout(() => caller.abort(), 30);
    await forever()
      .execute(() => Promise.reject(new Fails()), caller.signal)
      .catch(() => {});
    clearInterval(ticker);
    expect(ticks).toBeGreaterThan(0); // a starved loop would never run it (and never reach the abort either)
  });
});
