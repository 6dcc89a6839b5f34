// The portable suite: the BUILT package (dist/) on Node, Deno and Bun.
//
//   node test/portable/run.mjs --runtime=node20
//   deno run --allow-read --allow-env test/portable/run.mjs --runtime=deno2
//   bun test/portable/run.mjs --runtime=bun1
//
// `--runtime` names the runtime this must be; a mismatch (a runtime that
// silently fell back to another) fails before any test runs. `--filter=TEXT`
// runs only the tests whose name contains TEXT; `--dist=DIR` (relative to the
// repository root, default dist) tests a build elsewhere.

import { run, trackTimers, trackUnhandledRejections } from './harness.mjs';
import { checkRuntime, detectRuntime, exit, scriptArgs } from './runtime.mjs';
import { SUITES } from './cases/index.mjs';
import { selfCheck } from './selfcheck.mjs';

const args = Object.fromEntries(
  scriptArgs().map((arg) => {
    const [key, ...value] = arg.replace(/^--/, '').split('=');
    return [key, value.join('=')];
  }),
);

const expected = args.runtime;
const mismatch = checkRuntime(expected);
const actual = detectRuntime();
if (mismatch !== undefined) {
  console.log(`runtime check failed: ${mismatch}`);
  exit(1);
}
console.log(`running on ${actual.name} ${actual.version}`);

// Before the library loads, so every timer it starts is counted.
trackTimers();
trackUnhandledRejections();

const dist = new URL(`../../${args.dist || 'dist'}/`, import.meta.url);
const bw = await import(new URL('index.js', dist).href);

const broken = await selfCheck(bw);
if (broken.length > 0) {
  console.log(`the harness cannot be trusted on ${expected}:\n  ${broken.join('\n  ')}`);
  exit(1);
}
console.log('harness self-check: leaked timers, unhandled rejections, left listeners and hangs are caught');

for (const name of SUITES) {
  const suite = await import(`./cases/${name}.mjs`);
  await suite.register(bw, dist);
}

const { ok } = await run(expected, { filter: args.filter });
exit(ok ? 0 : 1);
