// Checks the docs check itself: fixtures/good must pass, and fixtures/bad must
// fail with exactly the problems listed here, so a check that silently stops
// finding links, blocks or type errors fails CI. Run by .ci/steps/35-docs.sh.
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const run = (fixture) => {
  try {
    return { code: 0, out: execFileSync(process.execPath, [join(here, 'check.mjs'), `--root=${join(here, 'fixtures', fixture)}`, '--list'], { encoding: 'utf8', stdio: 'pipe' }) };
  } catch (error) {
    return { code: error.status, out: `${error.stdout}${error.stderr}` };
  }
};

let failed = false;
const fail = (what, out) => {
  failed = true;
  console.error(`docs-check selftest: ${what}\n${out}`);
};

const good = run('good');
if (good.code !== 0) fail('fixtures/good should pass', good.out);
for (const line of ['README.md:17  ts, with prelude', 'README.md:24  fragment, not compiled: shows only the shape of a call', 'README.md:29  ts, beside examples/lib', 'README.md:35  sh: not code, skipped', 'docs/guide.md:7  js', 'src/greet.ts:5  ts', '(5 compiled)']) {
  if (!good.out.includes(line)) fail(`fixtures/good: expected "${line}"`, good.out);
}

const bad = run('bad');
const expected = [
  'README.md:3: link docs/nope.md: docs/nope.md does not exist',
  'README.md:3: link docs/guide.md#no-such-heading: no heading #no-such-heading in docs/guide.md',
  'README.md:4: link #nothing-here: no heading #nothing-here in README.md',
  'README.md:12: code block without a language',
  'README.md:17: docs-check: fragment needs a reason',
  "README.md:9: TS2322: Type 'string' is not assignable to type 'number'.",
  "README.md:25: TS2304: Cannot find name 'greet'.",
  "README.md:25: TS2551: Property 'nme' does not exist",
  "src/greet.ts:8: TS2304: Cannot find name 'db'.",
  'docs check: 9 problems',
];
if (bad.code !== 1) fail(`fixtures/bad should fail with exit code 1, got ${bad.code}`, bad.out);
for (const line of expected) if (!bad.out.includes(line)) fail(`fixtures/bad: expected "${line}"`, bad.out);

if (failed) process.exit(1);
console.log('docs-check selftest passed: the fixtures pass and fail as they should');
