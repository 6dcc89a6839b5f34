// Failure mode: a policy leaves a timer running after its call ended (a
// timeout's deadline, a hedge's delay, a queue timeout, a breaker's reopen
// timer), so a script or a serverless function that finished its work does
// not exit until the timer fires, up to minutes later.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { builtEntry, cleanUp, root } from './fixtures/built-entry.js';

const fixture = join(root, 'test/reliability/fixtures/every-policy.mjs');
const BOUND = 15_000; // the fixture's timers are 60 s long: a leak cannot hide under this bound

afterAll(cleanUp);

describe('a finished pipeline', () => {
  it('leaves no timer: a child process that used every policy exits at once, with code 0', () => {
    const entry = builtEntry();
    const started = process.hrtime.bigint();
    const child = spawnSync(process.execPath, [fixture, entry], { encoding: 'utf8', timeout: BOUND, killSignal: 'SIGKILL' });
    const ms = Number(process.hrtime.bigint() - started) / 1e6;

    expect(child.error, `still running after ${BOUND} ms: a timer was left behind`).toBeUndefined();
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    expect(ms).toBeLessThan(BOUND);
    const report = JSON.parse(child.stdout) as { results: [string, string][]; resources: string[] };
    // Nothing but stdout keeps the loop alive once the calls are done.
    expect(report.resources).toEqual([]);
    // It really went through every policy.
    const results = Object.fromEntries(report.results);
    expect(results).toMatchObject({
      timeout: 'ok',
      'timeout fired': 'TimeoutError',
      retry: 'ok',
      'retry cancelled': 'Error',
      'breaker open': 'BrokenCircuitError',
      'bulkhead 3': 'ok',
      'bulkhead left': 'Error',
      'limiter waits': 'ok',
      'limiter rejects': 'RateLimitedError',
      'limiter aborted': 'Error',
      'hedge fast': 'ok',
      'hedge won': 'ok',
      chaos: expect.any(String),
      fetch: 'ok',
    });
    expect(report.results.filter(([name]) => name.startsWith('pipeline'))).toHaveLength(20);
  }, 60_000); // a fresh build plus the child, on a busy machine
});
