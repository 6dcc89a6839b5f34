import { describe, expectTypeOf, it } from 'vitest';
import {
  BrokenCircuitError,
  BulkheadRejectedError,
  type BulkheadRejectionReason,
  IsolatedCircuitError,
  TimeoutError,
} from './errors.js';
import type { Unsubscribe } from './events.js';
import { type FallbackPolicy, withFallback } from './fallback.js';
import { type Policy, type PolicyContext, type PolicyWrap, wrap } from './policy.js';
import { type GiveUpReason, type Outcome, type RetryPolicy, retryWithBackoff } from './retry.js';
import { type TimeoutPolicy, withTimeout } from './timeout.js';

declare const thenable: PromiseLike<boolean>;

describe("execute's result type follows fn's", () => {
  it('for every built-in policy and for wrap', () => {
    const policies = [wrap(), retryWithBackoff(), withTimeout(100), wrap(retryWithBackoff(), withTimeout(100))] as const;
    for (const policy of policies) {
      expectTypeOf(policy.execute(() => 42)).toEqualTypeOf<Promise<number>>();
      expectTypeOf(policy.execute(async () => 'text')).toEqualTypeOf<Promise<string>>();
      expectTypeOf(policy.execute(() => Promise.resolve({ id: 1 }))).toEqualTypeOf<Promise<{ id: number }>>();
      expectTypeOf(policy.execute(() => thenable)).toEqualTypeOf<Promise<boolean>>();
      expectTypeOf(policy.execute(() => undefined)).toEqualTypeOf<Promise<undefined>>();
    }
  });

  it('for a plain Policy', () => {
    const policy = {} as Policy;
    expectTypeOf(policy.execute(() => 1)).toEqualTypeOf<Promise<number>>();
    expectTypeOf(policy.execute(async () => [1, 2])).toEqualTypeOf<Promise<number[]>>();
  });

  it('fn receives a PolicyContext with a readonly signal and attempt', () => {
    void wrap().execute((ctx) => {
      expectTypeOf(ctx).toEqualTypeOf<PolicyContext>();
      expectTypeOf(ctx.signal).toEqualTypeOf<AbortSignal>();
      expectTypeOf(ctx.attempt).toEqualTypeOf<number>();
      // @ts-expect-error attempt is readonly
      ctx.attempt = 2;
      // @ts-expect-error signal is readonly
      ctx.signal = new AbortController().signal;
      return 0;
    });
  });

  it('execute takes an optional AbortSignal and nothing else', () => {
    void wrap().execute(() => 1, new AbortController().signal);
    // @ts-expect-error not a signal
    void wrap().execute(() => 1, 'signal');
    // @ts-expect-error fn is required
    void wrap().execute();
  });
});

describe('withFallback widens the result to the fallback type', () => {
  it('with a fallback value', () => {
    expectTypeOf(withFallback(null).execute(() => 'x')).toEqualTypeOf<Promise<string | null>>();
    expectTypeOf(withFallback(0).execute(async () => 'x')).toEqualTypeOf<Promise<string | number>>();
    expectTypeOf(withFallback('same').execute(() => 'x')).toEqualTypeOf<Promise<string>>();
  });

  it('with a fallback function, sync or async', () => {
    expectTypeOf(withFallback(() => 0).execute(() => 'x')).toEqualTypeOf<Promise<string | number>>();
    expectTypeOf(withFallback(async () => ({ stale: true })).execute(() => 'x')).toEqualTypeOf<Promise<string | { stale: boolean }>>();
  });

  it('a fallback function receives the outcome and the context', () => {
    withFallback((outcome, ctx) => {
      expectTypeOf(outcome).toEqualTypeOf<Outcome>();
      expectTypeOf(ctx).toEqualTypeOf<PolicyContext>();
      return 1;
    });
  });

  it('is a Policy<F>', () => {
    expectTypeOf(withFallback('x')).toEqualTypeOf<FallbackPolicy<string>>();
    expectTypeOf(withFallback('x')).toExtend<Policy<string>>();
  });
});

describe('wrap widens with every fallback in it', () => {
  it('wrap(withFallback(x), …)', () => {
    const pipeline = wrap(withFallback(null), retryWithBackoff(), withTimeout(100));
    expectTypeOf(pipeline).toEqualTypeOf<PolicyWrap<null>>();
    expectTypeOf(pipeline.execute(() => 'x')).toEqualTypeOf<Promise<string | null>>();
  });

  it('two fallbacks widen with both', () => {
    expectTypeOf(wrap(withFallback(0), withFallback('none' as const)).execute(() => true)).toEqualTypeOf<
      Promise<boolean | number | 'none'>
    >();
  });

  it('a wrap without fallbacks does not widen', () => {
    expectTypeOf(wrap(retryWithBackoff(), withTimeout(1)).execute(() => 1)).toEqualTypeOf<Promise<number>>();
  });

  it('nested wraps carry the inner widening out', () => {
    const inner = wrap(withFallback(null));
    expectTypeOf(wrap(retryWithBackoff(), inner).execute(() => 1)).toEqualTypeOf<Promise<number | null>>();
  });

  it("a user's own Policy composes, and wrap refuses what is not a policy", () => {
    const mine: Policy = {
      execute: (fn, signal) => Promise.resolve(fn({ signal: signal ?? new AbortController().signal, attempt: 1 })),
    };
    expectTypeOf(wrap(mine, withTimeout(1)).execute(() => 'x')).toEqualTypeOf<Promise<string>>();
    // @ts-expect-error not a policy
    wrap({});
    // @ts-expect-error not a policy
    wrap(retryWithBackoff(), () => 1);
  });
});

describe('event payload types per event name', () => {
  it('retry: retry, giveUp, success', () => {
    const retry = retryWithBackoff();
    expectTypeOf(retry).toEqualTypeOf<RetryPolicy>();
    expectTypeOf(
      retry.on('retry', (p) => {
        expectTypeOf(p.attempt).toEqualTypeOf<number>();
        expectTypeOf(p.delay).toEqualTypeOf<number>();
        expectTypeOf(p.error).toEqualTypeOf<unknown>();
        expectTypeOf(p.value).toEqualTypeOf<unknown>();
      }),
    ).toEqualTypeOf<Unsubscribe>();
    retry.on('giveUp', (p) => {
      expectTypeOf(p.attempts).toEqualTypeOf<number>();
      expectTypeOf(p.reason).toEqualTypeOf<GiveUpReason>();
    });
    retry.on('success', (p) => {
      expectTypeOf(p.attempts).toEqualTypeOf<number>();
      // @ts-expect-error success has no delay
      void p.delay;
    });
    // @ts-expect-error retry has no timeout event
    retry.on('timeout', () => {});
  });

  it('timeout: timeout', () => {
    const timeout = withTimeout(1);
    expectTypeOf(timeout).toEqualTypeOf<TimeoutPolicy>();
    timeout.on('timeout', (p) => expectTypeOf(p.timeout).toEqualTypeOf<number>());
    // @ts-expect-error no such event
    timeout.on('retry', () => {});
  });

  it('fallback: fallback', () => {
    withFallback(1).on('fallback', (p) => {
      expectTypeOf(p.error).toEqualTypeOf<unknown>();
      expectTypeOf(p.value).toEqualTypeOf<unknown>();
    });
    // @ts-expect-error no such event
    withFallback(1).on('success', () => {});
  });

  it('on returns an unsubscribe function', () => {
    expectTypeOf(withTimeout(1).on('timeout', () => {})).toEqualTypeOf<() => void>();
  });
});

describe('options reject wrong types', () => {
  it('retryWithBackoff', () => {
    // @ts-expect-error a string is not a number
    retryWithBackoff({ maxRetries: '3' });
    // @ts-expect-error no such jitter
    retryWithBackoff({ jitter: 'random' });
    // @ts-expect-error handle is a predicate
    retryWithBackoff({ handle: true });
    // @ts-expect-error delay returns ms
    retryWithBackoff({ delay: () => 'soon' });
    // @ts-expect-error retryAfter returns ms or undefined
    retryWithBackoff({ retryAfter: () => '5' });
    // @ts-expect-error a budget needs tryRetry and onFirstAttempt
    retryWithBackoff({ budget: {} });
    // @ts-expect-error unknown option
    retryWithBackoff({ retries: 3 });
    retryWithBackoff({ jitter: 'decorrelated', maxRetries: Infinity, delay: (attempt, outcome) => ('error' in outcome ? attempt : 0) });
  });

  it('withTimeout', () => {
    // @ts-expect-error ms is a number
    withTimeout('100');
    // @ts-expect-error ms is required
    withTimeout();
    // @ts-expect-error no such strategy
    withTimeout(1, { strategy: 'optimistic' });
    withTimeout(1, { strategy: 'cooperative' });
  });

  it('withFallback', () => {
    // @ts-expect-error handle is a predicate
    withFallback(1, { handle: 'all' });
    // @ts-expect-error unknown option
    withFallback(1, { when: () => true });
  });
});

describe('errors have readonly fields', () => {
  it('retryAfter, timeout, reason', () => {
    const broken = new BrokenCircuitError('open', { retryAfter: 5, cause: new Error('x') });
    expectTypeOf(broken.retryAfter).toEqualTypeOf<number>();
    // @ts-expect-error readonly
    broken.retryAfter = 1;
    const timeout = new TimeoutError(undefined, { timeout: 5 });
    expectTypeOf(timeout.timeout).toEqualTypeOf<number>();
    // @ts-expect-error readonly
    timeout.timeout = 1;
    const rejected = new BulkheadRejectedError(undefined, { reason: 'queue-timeout' });
    expectTypeOf(rejected.reason).toEqualTypeOf<BulkheadRejectionReason>();
    // @ts-expect-error readonly
    rejected.reason = 'full';
    // @ts-expect-error no such reason
    new BulkheadRejectedError(undefined, { reason: 'busy' });
    // @ts-expect-error an isolated circuit's retryAfter is always Infinity
    new IsolatedCircuitError(undefined, { retryAfter: 5 });
    expectTypeOf(new IsolatedCircuitError()).toExtend<BrokenCircuitError>();
  });
});

describe('options may name a key with undefined (it means the default)', () => {
  it('compiles under exactOptionalPropertyTypes', () => {
    expectTypeOf(retryWithBackoff({ maxRetries: undefined, jitter: undefined, handle: undefined })).toEqualTypeOf<RetryPolicy>();
    expectTypeOf(withTimeout(10, { strategy: undefined })).toEqualTypeOf<TimeoutPolicy>();
  });
});
