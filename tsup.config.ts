import type { Plugin } from 'esbuild';
import { defineConfig } from 'tsup';

/**
 * Internal property names, shortened in the build: a user's bundler cannot
 * shorten a property name, and these repeat all through the core (bench/bundle.mjs).
 * Only names that are no public API (all @internal, stripped from the d.ts) and
 * no platform name: never `signal`, `reason`, `aborted`, `next`, `resolve`, an option's name…
 *
 * Each maps to the name the build gives it: a fixed map (esbuild's `mangleCache`),
 * so the names, and the core's bytes with them, no longer move when code outside
 * the core changes (esbuild would otherwise rank every mangled name across the
 * whole dist bundle anew at each build). The names are esbuild's own picks for
 * the core (its most frequent names the shortest); `mangleCheck` below fails the
 * build if one of them is a property name elsewhere in the bundle.
 *
 * A new internal name: add it with `undefined`. The build then mangles it to a
 * free name of esbuild's choice and prints the line to write here instead.
 */
const MANGLED: Readonly<Record<string, string | undefined>> = {
  // internal/context.ts: Ctx, Scope
  fn: 't',
  scope: 'f',
  callerSignal: 'h',
  outer: 'D',
  budgets: 'y',
  abortable: 'v',
  withAttempt: 'Q',
  listen: 'i',
  unlisten: 'n',
  release: '_',
  // events.ts, policy.ts
  listeners: 'b',
  emit: 'a',
  run: 'c',
  // internal/waiter.ts, queue.ts, slots.ts
  stage: 'O',
  ctx: 'B',
  detach: 'C',
  abandon: 'U',
  prev: 'e',
  timer: 'J',
  since: 'T',
  rejection: 'P',
  // breaker/options.ts, window.ts
  failureRate: 'N',
  slowRate: 'E',
  ageTo: 'j',
  saveAt: 'H',
  loadAt: 'I',
  recordAt: 'z',
  rejectAt: 'F',
  clearAll: 'G',
  dropAt: 'X',
  // backoff.ts
  firstDelay: 'K',
  growth: 'V',
  delayCap: 'L',
  spread: 'M',
  draw: 'W',
  // breaker/fleet.ts: the seam to the fleet glue
  tally: '$',
  stale: 'w',
  ready: 'Y',
  lease: 'A',
  ended: 'R',
  opened: 'Z',
  adopt: 'S',
};

const NAMES = Object.keys(MANGLED);

/**
 * Checks the map against the build: every name it gives is unique and no property
 * name of the bundle's own (esbuild trusts a cache and would reuse such a name,
 * merging two properties into one); a mangled name missing from the map is printed
 * as the line to add. Once per build (the formats bundle the same sources).
 */
let checked: Promise<void> | undefined;
const mangleCheck: Plugin = {
  name: 'mangle-check',
  setup(build) {
    build.onEnd(async (result) => {
      if (result.errors.length > 0 || checked !== undefined) return;
      checked = (async () => {
        const picked = result.mangleCache ?? {};
        const added = NAMES.filter((name) => MANGLED[name] === undefined && name in picked);
        for (const name of added) console.warn(`tsup.config.ts: add to MANGLED: ${name}: '${String(picked[name])}',`);
        // Every other property name the bundle has: mangled all (a throwaway build), ours reserved.
        const others = await build.esbuild.build({
          entryPoints: build.initialOptions.entryPoints!,
          bundle: true,
          write: false,
          format: 'esm',
          platform: build.initialOptions.platform!,
          target: build.initialOptions.target!,
          logLevel: 'silent',
          mangleProps: /./,
          mangleQuoted: true,
          reserveProps: build.initialOptions.mangleProps!,
          mangleCache: {},
        });
        const taken = new Set(Object.keys(others.mangleCache ?? {}));
        const given = new Map<string, string>();
        for (const [name, short] of Object.entries(picked)) {
          if (typeof short !== 'string') continue;
          const clash = taken.has(short) ? `a property of the bundle's own` : given.get(short);
          if (clash !== undefined) throw new Error(`tsup.config.ts: '${name}' is mangled to '${short}', also ${clash}: give it another name in MANGLED`);
          given.set(short, `the name of '${name}'`);
        }
      })();
      await checked;
    });
  },
};

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'es2022',
  // No `treeshake`: it runs Rollup over esbuild's output, which then ends with two
  // sourceMappingURL comments, and drops nothing (the entry exports everything).
  esbuildOptions(options) {
    options.mangleProps = new RegExp(`^(${NAMES.join('|')})$`);
    options.mangleCache = Object.fromEntries(Object.entries(MANGLED).filter(([, short]) => short !== undefined)) as Record<string, string>;
  },
  esbuildPlugins: [mangleCheck],
});
