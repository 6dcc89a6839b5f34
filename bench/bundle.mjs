// Bundle sizes as a user's bundler would see them: esbuild, ESM, minified,
// tree-shaken, then gzip at level 9.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

async function size(name, contents) {
  const result = await build({
    stdin: { contents, resolveDir: here, loader: 'js' },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'neutral',
    mainFields: ['module', 'main'],
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  const code = result.outputFiles[0].contents;
  return { name, min: code.length, gzip: gzipSync(code, { level: 9 }).length };
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

/**
 * Sizes of breakwater (whole, the five core policies, and each entry point
 * alone) and of cockatiel as a whole.
 */
export async function bundleSizes(breakwaterEntry) {
  const bw = JSON.stringify(breakwaterEntry);
  const exported = Object.keys(await import(pathToFileURL(breakwaterEntry).href));
  const cockatiel = JSON.stringify(path.join(path.dirname(require.resolve('cockatiel/package.json')), 'dist', 'esm', 'index.js'));
  const core = ['wrap', 'retryWithBackoff', 'withTimeout', 'withFallback', 'CircuitBreaker', 'Bulkhead'].filter((n) => exported.includes(n));
  const sizes = [
    await size('breakwater (everything)', `export * from ${bw};`),
    await size(`breakwater { ${core.join(', ')} }`, `export { ${core.join(', ')} } from ${bw};`),
  ];
  for (const name of ALONE) {
    if (exported.includes(name)) sizes.push(await size(`breakwater { ${name} }`, `export { ${name} } from ${bw};`));
  }
  sizes.push(await size('cockatiel (everything)', `export * from ${cockatiel};`));
  return sizes;
}
