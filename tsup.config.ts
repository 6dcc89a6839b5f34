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
});
