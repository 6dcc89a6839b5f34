import { expectTypeOf, test } from 'vitest';
import { CircuitBreaker, wrap, withFallback, type CircuitBreakerSnapshot, type CircuitState } from './index.js';

test('execute infers the value of fn, and a breaker widens nothing in wrap', () => {
  const breaker = new CircuitBreaker();
  expectTypeOf(breaker.execute(() => 1)).toEqualTypeOf<Promise<number>>();
  expectTypeOf(breaker.execute(async () => 'x')).toEqualTypeOf<Promise<string>>();
  expectTypeOf(wrap(withFallback(null), breaker).execute(() => 1)).toEqualTypeOf<Promise<number | null>>();
});

test('state, stats, snapshots and event payloads are typed', () => {
  const breaker = new CircuitBreaker({ openDuration: (opens) => opens * 1_000 });
  expectTypeOf(breaker.state).toEqualTypeOf<CircuitState>();
  expectTypeOf(breaker.stats().rejections).toBeNumber();
  expectTypeOf(breaker.toJSON()).toEqualTypeOf<CircuitBreakerSnapshot>();
  expectTypeOf(breaker.isolate()).toEqualTypeOf<() => void>();
  breaker.on('stateChange', (p) => expectTypeOf(p.to).toEqualTypeOf<CircuitState>());
  breaker.on('rejected', (p) => expectTypeOf(p.state).toEqualTypeOf<'open' | 'half-open' | 'isolated'>());
  breaker.on('failure', (p) => expectTypeOf(p.duration).toEqualTypeOf<number | undefined>()); // absent for a call already in flight when the first listener came
  // @ts-expect-error no such event
  breaker.on('opened', () => {});
  // @ts-expect-error openDuration is a number or a function
  new CircuitBreaker({ openDuration: '1s' });
});
