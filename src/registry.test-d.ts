import { expectTypeOf, test } from 'vitest';
import { CircuitBreaker, PolicyRegistry, resilientFetch, withFallback, wrap, type EvictReason, type PolicyWrap } from './index.js';

test("get and entries give create's own policy type; execute infers fn's value and what the policy may return instead", () => {
  const breakers = new PolicyRegistry({ create: () => new CircuitBreaker() });
  expectTypeOf(breakers.get('a')).toEqualTypeOf<CircuitBreaker>();
  expectTypeOf(breakers.execute('a', () => 1)).toEqualTypeOf<Promise<number>>();
  expectTypeOf([...breakers.entries()]).toEqualTypeOf<[string, CircuitBreaker][]>();
  const withSpare = new PolicyRegistry({ create: () => wrap(withFallback(null), new CircuitBreaker()) });
  expectTypeOf(withSpare.get('a')).toEqualTypeOf<PolicyWrap<null>>();
  expectTypeOf(withSpare.execute('a', async () => 'x')).toEqualTypeOf<Promise<string | null>>();
});

test('event payloads carry the key, the policy and the reason', () => {
  const breakers = new PolicyRegistry({ create: () => new CircuitBreaker() });
  breakers.on('create', ({ key, policy }) => {
    expectTypeOf(key).toBeString();
    expectTypeOf(policy).toEqualTypeOf<CircuitBreaker>();
  });
  breakers.on('evict', ({ reason }) => expectTypeOf(reason).toEqualTypeOf<EvictReason>());
  // @ts-expect-error no such event
  breakers.on('evicted', () => {});
});

test('perOrigin takes a registry of any policies whose value may be a Response, not one that may return something else', () => {
  resilientFetch({ perOrigin: new PolicyRegistry({ create: () => wrap(new CircuitBreaker()) }) });
  resilientFetch({ perOrigin: new PolicyRegistry({ create: () => new CircuitBreaker() }) });
  // @ts-expect-error a fallback of null would hand fetch's caller a null
  resilientFetch({ perOrigin: new PolicyRegistry({ create: () => wrap(withFallback(null), new CircuitBreaker()) }) });
});
