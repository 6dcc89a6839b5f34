// The acceptance tests run against the BUILT package, as a user gets it.
// Types come from the sources (so type-checking works before a build);
// the code comes from dist/ (run `npm run build` first; CI builds before testing).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type * as Breakwater from '../../src/index.js';

const esmUrl = new URL('../../dist/index.js', import.meta.url);
const cjsUrl = new URL('../../dist/index.cjs', import.meta.url);
for (const url of [esmUrl, cjsUrl]) {
  if (!existsSync(url)) throw new Error(`${fileURLToPath(url)} is missing: run \`npm run build\` before the acceptance tests`);
}

/** The package's ESM entry, `dist/index.js`. */
export const lib: typeof Breakwater = (await import(esmUrl.href)) as typeof Breakwater;

/** The package's CommonJS entry, `dist/index.cjs`: a second copy of every class. */
export const cjs: typeof Breakwater = createRequire(import.meta.url)(fileURLToPath(cjsUrl)) as typeof Breakwater;
