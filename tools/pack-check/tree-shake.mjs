// Tree-shaking and bundle budgets: a user pays only for what they import.
//
//   - An app that imports only retryWithBackoff carries retry and the core it
//     stands on, nothing else; one that imports the core (wrap and the five core
//     policies, CORE in bundle-size.mjs) carries none of the other exports' code
//     (NOT_CORE: later features join that list by name).
//   - Both stay within their budgets (BUDGETS, min+gzip, measured the way
//     bench/bundle.mjs measures).
//
// esbuild bundles such apps from the installed tarball (so package.json's
// `exports` and `sideEffects` are what a user's bundler sees) and the check asks
// each bundle's source map which src/ files its code comes from: esbuild chains
// through dist/index.js.map to the original sources. As a second line, a bundle
// must declare no class or function of an export it did not import. Then the
// retry-only bundle must run.
import { build, buildSync } from 'esbuild';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BUDGETS, CORE, measure } from './bundle-size.mjs';

/** The src/ files whose code a retry-only app may carry: retry and the core it stands on. */
const RETRY_SOURCES = [
  'src/retry.ts',
  'src/backoff.ts',
  'src/policy.ts',
  'src/events.ts',
  'src/internal/context.ts',
  'src/internal/timers.ts',
  'src/internal/validate.ts',
  'src/internal/budget.ts',
  'src/internal/final.ts',
];
/** The src/ files whose code an app of the core (CORE) may carry. A new file the core needs joins here. */
const CORE_SOURCES = [
  ...RETRY_SOURCES,
  'src/errors.ts',
  'src/timeout.ts',
  'src/fallback.ts',
  'src/circuit-breaker.ts',
  'src/breaker/options.ts',
  'src/breaker/rejection.ts',
  'src/breaker/snapshot.ts',
  'src/breaker/window.ts',
  'src/bulkhead.ts',
  'src/internal/queue.ts',
  'src/internal/waiter.ts',
  'src/internal/slots.ts',
];
/**
 * Exports whose code an app of the core must not carry: the other policies and
 * the later features (a name the package does not export yet is skipped, so a
 * feature is checked from the day it is exported under its API.md name).
 */
const NOT_CORE = [
  'RateLimiter',
  'RateLimitedError',
  'hedge',
  'HedgePolicy',
  'RetryBudget',
  'chaos',
  'ChaosPolicy',
  'resilientFetch',
  'HttpStatusError',
  'isFailureResponse',
  // Later features (API.md, "Additions"):
  'createMemoryStore',
  'createRedisStore',
  'createStore',
  'AdaptiveLimiter',
  'AdaptiveThrottle',
  'ThrottledError',
  'instrument',
  'PolicyRegistry',
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

/** Whether `code` declares a class or function named `name` (the bundles keep names readable). */
function declares(code, name) {
  return new RegExp(`\\b(?:class|function)\\s+${name}\\b|(?:^|[\\s,;])${name}\\s*=\\s*(?:class\\b|function\\b|\\()`, 'm').test(code);
}

const kb = (bytes) => `${(bytes / 1000).toFixed(2)} KB`;

/** Measures a bundle of `names` against `budget` bytes min+gzip; returns a problem, or undefined when within. */
async function overBudget(scratch, label, names, budget) {
  const size = await measure(build, `export { ${names.join(', ')} } from 'breakwater';\n`, scratch);
  const verdict = size.gzip <= budget ? 'within' : 'OVER';
  console.log(`${label} { ${names.join(', ')} }: ${size.min} B minified, ${size.gzip} B (${kb(size.gzip)}) min+gzip, ${verdict} its budget of ${kb(budget)}`);
  return size.gzip > budget ? `${label}: ${size.gzip} B min+gzip, over its budget of ${budget} B` : undefined;
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
  console.log(`retry-only bundle: its code comes from ${[...retry.sources.keys()].filter((f) => f.startsWith('src/')).join(', ')}`);
  expectOnly('retry-only', retry.sources, RETRY_SOURCES, known);

  if (!declares(retry.code, 'RetryPolicy')) throw new Error('the bundle lacks RetryPolicy: the check would prove nothing');
  const leaked = exported.filter((name) => !RETRY_EXPORTS.has(name) && declares(retry.code, name));
  if (leaked.length > 0) throw new Error(`a retry-only bundle declares ${leaked.join(', ')}`);
  console.log(`none of the ${exported.length - RETRY_EXPORTS.size} other exports is declared in it`);

  // The core: only its own files, and nothing of any NOT_CORE export, named one by one.
  const missingCore = CORE.filter((name) => !exported.includes(name));
  if (missingCore.length > 0) throw new Error(`the package does not export ${missingCore.join(', ')}, which the core check needs`);
  const core = bundle(scratch, 'core', `export { ${CORE.join(', ')} } from 'breakwater';\n`);
  console.log(`core bundle: its code comes from ${[...core.sources.keys()].filter((f) => f.startsWith('src/')).join(', ')}`);
  for (const name of ['PolicyWrap', 'RetryPolicy', 'TimeoutPolicy', 'FallbackPolicy', 'CircuitBreaker', 'Bulkhead']) {
    if (!declares(core.code, name)) throw new Error(`the core bundle lacks ${name}: the check would prove nothing`);
  }
  const present = NOT_CORE.filter((name) => exported.includes(name));
  const inCore = [];
  for (const name of present) {
    // Its own files: what a bundle of it alone holds beyond the core's files.
    const alone = bundle(scratch, `${name}-alone`, `export { ${name} } from 'breakwater';\n`);
    const own = [...alone.sources.keys()].filter((f) => f.startsWith('src/') && !CORE_SOURCES.includes(f));
    const found = own.filter((f) => core.sources.has(f));
    if (declares(core.code, name)) found.unshift(`a declaration of ${name}`);
    if (found.length > 0) inCore.push(`${name} (${found.join(', ')})`);
  }
  if (inCore.length > 0) throw new Error(`the core bundle holds code of ${inCore.join('; ')}`);
  const skipped = NOT_CORE.filter((name) => !exported.includes(name));
  console.log(`none of ${present.join(', ')} is in it${skipped.length > 0 ? ` (not exported yet, skipped: ${skipped.join(', ')})` : ''}`);
  expectOnly('core', core.sources, CORE_SOURCES, known);

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

  const bundles = { 'retry-only': retry, core, 'one-error': errors };
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

  // The budgets, measured as bench/bundle.mjs measures; both are printed before either fails.
  const over = [
    await overBudget(scratch, 'retry alone', ['retryWithBackoff'], BUDGETS.retry),
    await overBudget(scratch, 'core', CORE, BUDGETS.core),
  ].filter((problem) => problem !== undefined);
  if (over.length > 0) throw new Error(over.join('; '));
}
