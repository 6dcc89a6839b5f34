import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { cjs, lib } from './dist.js';

/**
 * The names each declaration file lets TypeScript use as values: the properties
 * of its namespace (type-only exports are not). One program for both files.
 */
function declaredValues(...files: string[]): string[][] {
  const paths = files.map((file) => fileURLToPath(new URL(`../../dist/${file}`, import.meta.url)));
  const program = ts.createProgram(paths, { noEmit: true, types: [], skipLibCheck: true, target: ts.ScriptTarget.ES2022, lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'] });
  const checker = program.getTypeChecker();
  return paths.map((path) =>
    checker
      .getTypeOfSymbol(checker.getSymbolAtLocation(program.getSourceFile(path)!)!)
      .getProperties()
      .map((p) => p.getName())
      .sort(),
  );
}

const foundation = [
  'wrap',
  'retryWithBackoff',
  'withTimeout',
  'withFallback',
  'ResilienceError',
  'BrokenCircuitError',
  'IsolatedCircuitError',
  'BulkheadRejectedError',
  'TimeoutError',
] as const;

describe('the built package', () => {
  it('exports the foundation from the ESM entry', () => {
    for (const name of foundation) expect(typeof lib[name], name).toBe('function');
  });

  it('exports the same names from the CommonJS entry', () => {
    expect(Object.keys(cjs).sort()).toEqual(Object.keys(lib).sort());
    for (const name of foundation) expect(typeof cjs[name], name).toBe('function');
  });

  it('declares as values exactly what each entry exports: Emitter and PolicyBase are types only', () => {
    const [esm, commonjs] = declaredValues('index.d.ts', 'index.d.cts');
    expect(esm).toEqual(Object.keys(lib).sort());
    expect(commonjs).toEqual(Object.keys(cjs).sort());
    expect(esm).toContain('PolicyWrap');
    expect(esm).not.toContain('Emitter');
    expect(esm).not.toContain('PolicyBase');
  }, 20_000);

  it('each entry ends with one sourceMappingURL comment', () => {
    for (const file of ['index.js', 'index.cjs']) {
      const code = readFileSync(new URL(`../../dist/${file}`, import.meta.url), 'utf8');
      expect(code.match(/^\/\/# sourceMappingURL=/gm), file).toHaveLength(1);
      expect(code.trimEnd().endsWith(`//# sourceMappingURL=${file}.map`), file).toBe(true);
    }
  });

  it('the two entries are separate copies, yet their errors are told apart by name', async () => {
    expect(cjs.BrokenCircuitError).not.toBe(lib.BrokenCircuitError);
    // A breaker from the CommonJS copy sheds load; the ESM retry must not retry it.
    let calls = 0;
    const shed = new cjs.BrokenCircuitError('open');
    await expect(
      lib.retryWithBackoff({ initialDelay: 0 }).execute(() => {
        calls++;
        throw shed;
      }),
    ).rejects.toBe(shed);
    expect(calls).toBe(1);
  });

  it("a policy from the other copy composes in wrap as a user's own Policy", async () => {
    let calls = 0;
    const pipeline = lib.wrap(lib.withFallback('fallback'), cjs.retryWithBackoff({ maxRetries: 2, initialDelay: 0 }));
    await expect(
      pipeline.execute(() => {
        calls++;
        throw new Error('down');
      }),
    ).resolves.toBe('fallback');
    expect(calls).toBe(3);
  });
});
