// The long run of the randomized stress test: many fresh seeds instead of
// CI's fixed ones. Every failure prints its seed; rerun one with --seed.
//
//   npm run stress                          (200 seeds from the clock, 3000 calls each)
//   npm run stress -- --runs 1000 --calls 5000 --base 123
//   npm run stress -- --seed 1234           (replay one seed)
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '200' },
    calls: { type: 'string', default: '3000' },
    base: { type: 'string', default: String(Date.now() % 1e9) },
    seed: { type: 'string' },
  },
});
const env = { ...process.env, STRESS_CALLS: values.calls, STRESS_RUNS: values.runs, STRESS_BASE: values.base };
if (values.seed !== undefined) env.STRESS_SEED = values.seed;
console.log(
  values.seed !== undefined
    ? `stress: seed ${values.seed}, ${values.calls} calls`
    : `stress: ${values.runs} seeds from ${values.base}, ${values.calls} calls each`,
);
const root = fileURLToPath(new URL('..', import.meta.url));
const vitest = fileURLToPath(new URL('../node_modules/vitest/vitest.mjs', import.meta.url));
const run = spawnSync(process.execPath, [vitest, 'run', 'test/stress/random-pipelines.test.ts', '--testNamePattern', '^random pipelines'], {
  cwd: root,
  env,
  stdio: 'inherit',
});
process.exit(run.status ?? 1);
