// Tree-shaking: an app that imports only retryWithBackoff must not carry the
// breaker, bulkhead, rate limiter, fetch, hedge or any other policy. esbuild
// bundles such an app from the installed tarball (so package.json's `exports`
// and `sideEffects` are what a user's bundler sees) and the check asks the
// bundle's source map which src/ files its code comes from: esbuild chains
// through dist/index.js.map to the original sources. As a second line, the
// bundle must declare no class or function of another export. Then it must run.
import { buildSync } from 'esbuild';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';

/** The src/ files whose code a retry-only app may carry: retry and the core it stands on. */
const RETRY_SOURCES = [
  'src/retry.ts',
  'src/backoff.ts',
  'src/policy.ts',
  'src/events.ts',
  'src/internal/context.ts',
  'src/internal/timers.ts',
  'src/internal/validate.ts',
];
/** Exported functions that build a policy (or a fetch): each must be marked free of side effects. */
const FACTORIES = ['wrap', 'retryWithBackoff', 'withTimeout', 'withFallback', 'hedge', 'chaos', 'resilientFetch'];
/** The exports a retry-only app may carry. */
const RETRY_EXPORTS = new Set(['retryWithBackoff', 'RetryPolicy']);

function bundle(scratch, name, contents) {
  const result = buildSync({
    stdin: { contents, resolveDir: scratch, sourcefile: name },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    outfile: join(scratch, `${name}.bundle.js`),
    sourcemap: 'external',
    // Names kept readable: the declaration check searches for them.
    minifySyntax: true,
    logLevel: 'error',
  });
  const code = result.outputFiles.find((f) => f.path.endsWith('.js')).text;
  const map = JSON.parse(result.outputFiles.find((f) => f.path.endsWith('.map')).text);
  return { code, sources: sourcesWithCode(map) };
}

/** The sources that at least one mapping of the generated code points into (decodes the VLQ mappings). */
function sourcesWithCode(map) {
  const digits = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const used = new Map();
  let source = 0;
  for (const line of map.mappings.split(';')) {
    for (const segment of line.split(',')) {
      if (segment === '') continue;
      const fields = [];
      let value = 0;
      let shift = 0;
      for (const char of segment) {
        const digit = digits.indexOf(char);
        value += (digit & 31) << shift;
        if (digit & 32) shift += 5;
        else {
          fields.push(value & 1 ? -(value >>> 1) : value >>> 1);
          value = 0;
          shift = 0;
        }
      }
      if (fields.length < 2) continue;
      source += fields[1];
      const file = /(?:^|\/)(src\/.*)$/.exec(map.sources[source])?.[1] ?? map.sources[source];
      used.set(file, (used.get(file) ?? 0) + 1);
    }
  }
  return used;
}

function expectOnly(label, sources, allowed, known = []) {
  const fromPackage = [...sources.keys()].filter((f) => f.startsWith('src/'));
  if (fromPackage.length === 0 && allowed.length > 0) {
    throw new Error(`${label}: the bundle maps to no src/ file (only ${[...sources.keys()].join(", ")}); is dist/index.js.map missing? The check would prove nothing`);
  }
  // A known gap names a file (in any bundle) or `label:file` (in that bundle only).
  const tolerated = (f) => known.includes(f) || known.includes(`${label}:${f}`);
  for (const f of fromPackage.filter((f) => !allowed.includes(f) && tolerated(f))) {
    console.log(`KNOWN GAP ${label}: the bundle holds code from ${f} (${sources.get(f)} mapped segments)`);
  }
  const extra = fromPackage.filter((f) => !allowed.includes(f) && !tolerated(f));
  if (extra.length > 0) {
    const detail = extra.map((f) => `${f} (${sources.get(f)} mapped segments)`).join(', ');
    throw new Error(`${label}: the bundle holds code from ${detail}; a top-level call there needs /* @__PURE__ */, a factory /* @__NO_SIDE_EFFECTS__ */`);
  }
}

/** `known`: src/ files tolerated in the bundles until fixed (known-gaps.json). */
export async function treeShake(scratch, known = []) {
  const entry = join(scratch, 'node_modules', 'breakwater', 'dist', 'index.js');
  const exported = Object.keys(await import(pathToFileURL(entry).href));

  const retry = bundle(
    scratch,
    'retry-only',
    `import { retryWithBackoff } from 'breakwater';\nretryWithBackoff({ maxRetries: 1, initialDelay: 1 }).execute((ctx) => ctx.attempt).then((n) => console.log('the retry-only bundle ran: attempt ' + n));\n`,
  );
  const minified = buildSync({ stdin: { contents: retry.code, loader: 'js' }, minify: true, write: false, format: 'esm' }).outputFiles[0].text;
  console.log(`retry-only bundle: ${retry.code.length} bytes, ${minified.length} minified, ${gzipSync(minified).length} minified+gzip`);
  console.log(`its code comes from: ${[...retry.sources.keys()].filter((f) => f.startsWith('src/')).join(', ')}`);
  expectOnly('retry-only', retry.sources, RETRY_SOURCES, known);

  const declares = (name) =>
    new RegExp(`\\b(?:class|function)\\s+${name}\\b|(?:^|[\\s,;])${name}\\s*=\\s*(?:class\\b|function\\b|\\()`, 'm').test(retry.code);
  if (!declares('RetryPolicy')) throw new Error('the bundle lacks RetryPolicy: the check would prove nothing');
  const leaked = exported.filter((name) => !RETRY_EXPORTS.has(name) && declares(name));
  if (leaked.length > 0) throw new Error(`a retry-only bundle declares ${leaked.join(', ')}`);
  console.log(`none of the ${exported.length - RETRY_EXPORTS.size} other exports is declared in it`);

  // Taking one error class must take nothing else: any other code that survives
  // is a top-level side effect (a call without /* @__PURE__ */) a bundler cannot drop.
  const errors = bundle(scratch, 'one-error', `import { TimeoutError } from 'breakwater';\nconsole.log(new TimeoutError().name);\n`);
  expectOnly('one-error', errors.sources, ['src/errors.ts'], known);
  console.log('a bundle of TimeoutError alone holds only src/errors.ts (and known gaps)');

  // Factories must carry /* @__NO_SIDE_EFFECTS__ */ in the published build, so a
  // bundler that honours it across modules (Rollup, Vite) drops a policy built
  // at module level but never used. (esbuild honours it only within one file,
  // so this is read from dist/index.js rather than from a bundle.)
  const dist = readFileSync(entry, 'utf8');
  const unmarked = FACTORIES.filter((name) => exported.includes(name) && !new RegExp(`@__NO_SIDE_EFFECTS__\\s*\\*?/?\\s*(?:export\\s+)?function\\s+${name}\\b`).test(dist));
  for (const name of unmarked.filter((n) => known.includes(`no-side-effects:${n}`))) console.log(`KNOWN GAP ${name} lacks /* @__NO_SIDE_EFFECTS__ */`);
  const missing = unmarked.filter((n) => !known.includes(`no-side-effects:${n}`));
  if (missing.length > 0) throw new Error(`factories without /* @__NO_SIDE_EFFECTS__ */ in dist/index.js: ${missing.join(', ')}`);
  console.log(`factories marked /* @__NO_SIDE_EFFECTS__ */: ${FACTORIES.filter((n) => exported.includes(n) && !unmarked.includes(n)).join(', ')}`);

  const bundles = { 'retry-only': retry, 'one-error': errors };
  for (const gap of known) {
    const [label, file] = gap.includes(':') ? gap.split(':') : [undefined, gap];
    const still =
      label === 'no-side-effects'
        ? unmarked.includes(file)
        : Object.entries(bundles).some(([name, b]) => (label === undefined || label === name) && b.sources.has(file));
    if (!still) console.log(`note: known gap ${gap} is fixed; remove it from tools/pack-check/known-gaps.json`);
  }

  const url = `data:text/javascript;base64,${Buffer.from(retry.code).toString('base64')}`;
  await import(url);
  writeFileSync(join(scratch, 'retry-only.bundle.js'), retry.code);
}
