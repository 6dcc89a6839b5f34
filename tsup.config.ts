import type { Plugin, PluginBuild } from 'esbuild';
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
 * whole dist bundle anew at each build). `resolveMap` below replaces, with a
 * warning, a name that is also a property name elsewhere in the bundle.
 *
 * A new internal name: add it with `undefined`. The build then mangles it to a
 * free name of esbuild's choice and prints the line to write here instead.
 */
const MANGLED: Readonly<Record<string, string | undefined>> = {
  // internal/context.ts: Ctx, Scope
  fn: 'n',
  scope: 't',
  callerSignal: 'y',
  outer: 'i',
  budgets: 'a',
  abortable: 'L',
  withAttempt: 'h',
  listen: 'b',
  unlisten: 'f',
  release: 'G',
  // events.ts, policy.ts
  listeners: 'e',
  emit: 'U',
  run: 'v',
  // internal/waiter.ts, queue.ts, slots.ts
  stage: 'W',
  ctx: 'B',
  detach: 'H',
  abandon: 'I',
  prev: 'O',
  timer: 'c',
  since: 'X',
  rejection: 'K',
  stopsOnAdmit: 'aa',
  // breaker/options.ts, window.ts
  failureRate: 'w',
  slowRate: 'F',
  ageTo: 'T',
  saveAt: 'J',
  loadAt: 'Z',
  recordAt: 'N',
  rejectAt: 'Y',
  clearAll: 'E',
  dropAt: 'R',
  // backoff.ts
  firstDelay: 'P',
  growth: 'V',
  delayCap: '$',
  spread: 'D',
  draw: 'M',
  // breaker/fleet.ts: the seam to the fleet glue
  tally: 'A',
  stale: 'Q',
  ready: 'j',
  lease: 'C',
  ended: '_',
  opened: 'S',
  adopt: 'z',
};

const NAMES = Object.keys(MANGLED);

/** Where a replacement name comes from: one letter, then two. */
const SHORT = [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_$'];
const SPARE = [...SHORT, ...SHORT.flatMap((a) => SHORT.map((b) => a + b))];

/**
 * The map as this build uses it. esbuild trusts a cache: a name that is also a
 * property name of the bundle's own would merge two properties into one. So the
 * bundle's other property names are read first (a throwaway build that mangles
 * them all, ours reserved), and a name of the map that is one of them, or given
 * twice, is replaced by the first free one of SPARE, with a warning to update the
 * map: the build never breaks, and stays the same for the same sources. Once per
 * build (the formats bundle the same sources).
 */
let resolved: Promise<Record<string, string>> | undefined;
function resolveMap(build: PluginBuild): Promise<Record<string, string>> {
  return (resolved ??= (async () => {
    const o = build.initialOptions;
    const others = await build.esbuild.build({
      entryPoints: o.entryPoints!,
      bundle: true,
      write: false,
      format: 'esm',
      platform: o.platform!,
      target: o.target!,
      logLevel: 'silent',
      mangleProps: /./,
      mangleQuoted: true,
      reserveProps: o.mangleProps!,
      mangleCache: {},
    });
    const taken = new Set(Object.keys(others.mangleCache ?? {}));
    const wanted = new Set(Object.values(MANGLED));
    const map: Record<string, string> = {};
    const given = new Set<string>();
    for (const name of NAMES) {
      let short = MANGLED[name];
      if (short === undefined) continue;
      if (taken.has(short) || given.has(short)) {
        const spare = SPARE.find((s) => !taken.has(s) && !given.has(s) && !wanted.has(s))!;
        const why = taken.has(short) ? 'a property name of the bundle' : 'given twice';
        console.warn(`tsup.config.ts: MANGLED's '${short}' for ${name} is ${why}: this build uses '${spare}' (write a free name in MANGLED)`);
        short = spare;
      }
      given.add(short);
      map[name] = short;
    }
    return map;
  })());
}

/** Applies the map; prints a name the build mangled that the map lacks as the line to add. */
const mangleMap: Plugin = {
  name: 'mangle-map',
  async setup(build) {
    // After tsup's own plugin has applied esbuildOptions (mangleProps).
    build.initialOptions.mangleCache = { ...(await resolveMap(build)) };
    build.onEnd((result) => {
      if (build.initialOptions.format !== 'esm') return;
      const picked = result.mangleCache ?? {};
      for (const name of NAMES) {
        if (MANGLED[name] === undefined && name in picked) console.warn(`tsup.config.ts: add to MANGLED: ${name}: '${String(picked[name])}',`);
      }
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
  },
  esbuildPlugins: [mangleMap],
});
