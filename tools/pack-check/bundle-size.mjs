// One way to measure what a user's bundle costs, shared by the pack check's
// budgets (tree-shake.mjs) and the bench's table (bench/bundle.mjs): esbuild,
// ESM, minified and tree-shaken for a neutral platform, then gzip at level 9.
// Each caller passes its own esbuild's `build` (both folders pin the same
// esbuild version), so this file imports nothing but zlib.
import { gzipSync } from 'node:zlib';

/** The core: `wrap` and the five core policies. */
export const CORE = ['wrap', 'retryWithBackoff', 'withTimeout', 'withFallback', 'CircuitBreaker', 'Bulkhead'];

/** Budgets in bytes, minified + gzip (1 KB = 1000 B, as the bench counts). */
export const BUDGETS = {
  /** An app that imports the core (CORE). */
  core: 7600,
  /** An app that imports only retryWithBackoff. */
  retry: 2800,
};

/**
 * Bytes of a bundle of `contents` (an ES module that imports from the package),
 * resolved from `resolveDir`: `{ min, gzip }`.
 */
export async function measure(build, contents, resolveDir) {
  const result = await build({
    stdin: { contents, resolveDir, loader: 'js' },
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
  return { min: code.length, gzip: gzipSync(code, { level: 9 }).length };
}
