// Bundle sizes as a user's bundler would see them: esbuild, ESM, minified,
// tree-shaken, then gzip at level 9 (measure() in tools/pack-check/bundle-size.mjs,
// which the pack check's budgets use too).
//
//   node bench/bundle.mjs     (after `npm run build` and `npm ci --prefix bench`)
//
// prints the table and whether the core and retryWithBackoff alone are within
// their budgets; bench/run.mjs prints the same table in its report.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { BUDGETS, CORE, measure } from '../tools/pack-check/bundle-size.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

async function size(name, contents) {
  return { name, ...(await measure(build, contents, here)) };
}

/** What a user imports, one entry point at a time, to see where the bytes go. */
const ALONE = [
  'retryWithBackoff',
  'withTimeout',
  'withFallback',
  'CircuitBreaker',
  'Bulkhead',
  'RateLimiter',
  'hedge',
  'RetryBudget',
  'chaos',
  'resilientFetch',
];

/** The name of the core's row: `wrap` and the five core policies. */
export const CORE_ROW = `breakwater core { ${CORE.join(', ')} }`;

/**
 * Sizes of breakwater (whole, the core, and each entry point alone) and of
 * cockatiel as a whole.
 */
export async function bundleSizes(breakwaterEntry) {
  const bw = JSON.stringify(breakwaterEntry);
  const exported = Object.keys(await import(pathToFileURL(breakwaterEntry).href));
  const cockatiel = JSON.stringify(path.join(path.dirname(require.resolve('cockatiel/package.json')), 'dist', 'esm', 'index.js'));
  const core = CORE.filter((n) => exported.includes(n));
  const sizes = [
    await size('breakwater (everything)', `export * from ${bw};`),
    await size(CORE_ROW, `export { ${core.join(', ')} } from ${bw};`),
  ];
  for (const name of ALONE) {
    if (exported.includes(name)) sizes.push(await size(`breakwater { ${name} }`, `export { ${name} } from ${bw};`));
  }
  sizes.push(await size('cockatiel (everything)', `export * from ${cockatiel};`));
  return sizes;
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const entry = path.join(here, '..', 'dist', 'index.js');
  const sizes = await bundleSizes(entry);
  const width = Math.max(...sizes.map((s) => s.name.length));
  console.log(`${'entry'.padEnd(width)}  ${'min'.padStart(8)}  ${'min+gzip'.padStart(8)}`);
  for (const s of sizes) console.log(`${s.name.padEnd(width)}  ${`${s.min} B`.padStart(8)}  ${`${s.gzip} B`.padStart(8)}`);
  const core = sizes.find((s) => s.name === CORE_ROW);
  const retry = sizes.find((s) => s.name === 'breakwater { retryWithBackoff }');
  console.log();
  console.log(`core ≤ ${BUDGETS.core} B min+gzip: ${core.gzip <= BUDGETS.core ? 'yes' : 'NO'} (${core.gzip} B)`);
  console.log(`retryWithBackoff alone ≤ ${BUDGETS.retry} B min+gzip: ${retry.gzip <= BUDGETS.retry ? 'yes' : 'NO'} (${retry.gzip} B)`);
  console.log('(the pack check, .ci/steps/30-package.sh, fails over either budget)');
}
