// The harness checks itself on the runtime at hand before the suite runs: a
// leaked library timer, an unhandled rejection, a listener left on a signal and
// a hung test must each fail, and a clean test must pass. Otherwise a runtime
// whose timers or rejection events behave differently would pass vacuously.
import { assert, collect, delay, never, run, test, trackedController } from './harness.mjs';

export async function selfCheck(bw) {
  const expectations = [
    ['a library timer left pending', /left 1 timer/, () => void bw.withTimeout(60_000).execute(never)],
    ['an unhandled rejection', /unhandled rejection/, () => void Promise.reject(new Error('nobody handles me'))],
    [
      'a listener left on the caller signal',
      /got 1, expected 0/,
      () => {
        const caller = trackedController();
        caller.signal.addEventListener('abort', () => {});
        assert.equal(caller.listeners(), 0);
      },
    ],
    ['a hung test', /timed out/, never, { timeout: 30 }],
  ];
  const list = collect(() => {
    for (const [name, , fn, options] of expectations) test(name, fn, options);
    test('a clean test', async () => {
      await bw.withTimeout(1_000).execute(() => delay(1));
      assert.equal(1, 1);
    });
  });
  const { passed, problems } = await run('self-check', { list, quiet: true });
  const wrong = [];
  for (const [name, pattern] of expectations) {
    const problem = problems.get(name);
    if (problem === undefined) wrong.push(`${name} went unnoticed`);
    else if (!pattern.test(String(problem.message))) wrong.push(`${name} failed for another reason: ${problem.message}`);
  }
  if (passed !== 1) wrong.push('the clean test did not pass');
  return wrong;
}
