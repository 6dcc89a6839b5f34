// Failure mode: a policy leaves a timer running after its call ended (a
// timeout's deadline, a hedge's delay, a queue timeout, a breaker's reopen
// timer), so a script or a serverless function that finished its work does
// not exit until the timer fires, up to minutes later.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const fixture = join(root, 'test/reliability/fixtures/every-policy.mjs');
const BOUND = 15_000; // the fixture's timers are 60 s long: a leak cannot hide under this bound
let scratch: string | undefined;

function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

/** The built package: dist/ as `npm run build` left it (as in CI), or a fresh ESM build when dist/ is missing or older than src/. */
function builtEntry(): string {
  const dist = join(root, 'dist/index.js');
  let fresh = false;
  try {
    fresh = statSync(dist).mtimeMs >= newest(join(root, 'src'));
  } catch {
    fresh = false;
  }
  if (fresh) return dist;
  scratch = mkdtempSync(join(tmpdir(), 'breakwater-dist-'));
  const tsup = join(root, 'node_modules/tsup/dist/cli-default.js');
  const build = spawnSync(process.execPath, [tsup, 'src/index.ts', '--no-config', '--format', 'esm', '--target', 'es2022', '--out-dir', scratch], {
    cwd: root,
    encoding: 'utf8',
  });
  if (build.status !== 0) throw new Error(`building a fresh dist failed:\n${build.stdout}\n${build.stderr}`);
  return join(scratch, 'index.js');
}

afterAll(() => {
  if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
});

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
