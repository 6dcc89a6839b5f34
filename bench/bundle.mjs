// Bundle sizes as a user's bundler would see them: esbuild, ESM, minified,
// tree-shaken, then gzip at level 9.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
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

/** Sizes of breakwater (whole, and retryWithBackoff alone) and of cockatiel as a whole. */
export async function bundleSizes(breakwaterEntry) {
  const bw = JSON.stringify(breakwaterEntry);
  const cockatiel = JSON.stringify(path.join(path.dirname(require.resolve('cockatiel/package.json')), 'dist', 'esm', 'index.js'));
  return [
    await size('breakwater (everything)', `export * from ${bw};`),
    await size('breakwater { retryWithBackoff }', `export { retryWithBackoff } from ${bw};`),
    await size('breakwater { wrap, withTimeout, withFallback }', `export { wrap, withTimeout, withFallback } from ${bw};`),
    await size('cockatiel (everything)', `export * from ${cockatiel};`),
  ];
}
