import { defineConfig } from 'tsup';

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
    // Internal property names, shortened in the build: a user's bundler cannot
    // shorten a property name, and these repeat all through the core (bench/bundle.mjs).
    // Only names that are no public API (all @internal, stripped from the d.ts) and
    // no platform name: never `signal`, `reason`, `aborted`, `next`, `resolve`, an option's name…
    options.mangleProps = /^(fn|scope|callerSignal|outer|budgets|abortable|withAttempt|listen|unlisten|listeners|emit|run|stage|detach|abandon|peek|prev|timer|failureRate|slowRate|ageTo|saveAt|loadAt|recordAt|rejectAt|clearAll|dropAt|firstDelay|growth|delayCap|spread|draw|rejection|release|ctx|since|tally|stale|ready|lease|ended|opened|adopt)$/;
  },
});
