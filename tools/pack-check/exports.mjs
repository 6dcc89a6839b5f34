// Declared exports against real ones, for each entry of the installed package:
// the value exports its types declare (what tsc lets a user `new`, call or read:
// the properties of `import * as ns`) must be exactly the names the module
// really exports at run time, both ways. A class the .d.ts exports as a value
// but the module lacks type-checks and then throws (ESM: "does not provide an
// export named …") or is `undefined` (CommonJS); a runtime export the types lack
// cannot be used from TypeScript.
//
// The types are read through the package's own `exports` (TypeScript, module
// node16: an .mts file takes the import condition, a .cts file require), and
// the run-time names from Node loading the package the same two ways.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

/** The value exports the published types declare, for the import (`esm`) and the require (`cjs`) condition. */
export function declaredValues(dir, pkg = 'breakwater') {
  const files = {
    esm: join(dir, 'exports-probe.mts'),
    cjs: join(dir, 'exports-probe.cts'),
  };
  writeFileSync(files.esm, `import * as ns from '${pkg}';\nexport { ns };\n`);
  writeFileSync(files.cjs, `import ns = require('${pkg}');\nexport { ns };\n`);
  const program = ts.createProgram(Object.values(files), {
    module: ts.ModuleKind.Node16,
    moduleResolution: ts.ModuleResolutionKind.Node16,
    target: ts.ScriptTarget.ES2022,
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
    types: [],
    strict: true,
    noEmit: true,
    skipLibCheck: true,
  });
  const problems = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  if (problems.length > 0) throw new Error(`the probe does not type-check:\n${problems.join('\n')}`);
  const checker = program.getTypeChecker();
  const result = {};
  for (const [condition, file] of Object.entries(files)) {
    const source = program.getSourceFile(file);
    const statement = source.statements[0];
    const name = ts.isImportDeclaration(statement) ? statement.importClause.namedBindings.name : statement.name;
    const type = checker.getTypeAtLocation(name);
    // Type-only exports (`export { type X }`) are not properties of the namespace: exactly what tsc rejects as a value.
    result[condition] = type.getProperties().map((p) => p.getName());
  }
  return result;
}

/** The names the package really exports, loaded by Node from `dir` through import and require. */
export function runtimeValues(dir, pkg = 'breakwater') {
  const run = (args) => {
    const r = spawnSync(process.execPath, args, { cwd: dir, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`node ${args.join(' ')}: ${r.stderr}`);
    return JSON.parse(r.stdout);
  };
  return {
    esm: run(['--input-type=module', '-e', `console.log(JSON.stringify(Object.keys(await import('${pkg}'))))`]),
    // __esModule is the interop marker a CommonJS build sets (not enumerable in tsup's, but not an export either way).
    cjs: run(['-e', `console.log(JSON.stringify(Object.keys(require('${pkg}')).filter((k) => k !== '__esModule')))`]),
  };
}

/** Compares both; returns one line per mismatch (empty when they agree). */
export function compareExports(dir, pkg = 'breakwater') {
  const declared = declaredValues(dir, pkg);
  const actual = runtimeValues(dir, pkg);
  const problems = [];
  for (const [condition, label] of [['esm', 'ESM (import, .d.ts)'], ['cjs', 'CommonJS (require, .d.cts)']]) {
    const real = new Set(actual[condition]);
    const typed = new Set(declared[condition]);
    const onlyTyped = [...typed].filter((n) => !real.has(n)).sort();
    const onlyReal = [...real].filter((n) => !typed.has(n)).sort();
    if (onlyTyped.length > 0) problems.push(`${label}: declared as values but not exported at run time: ${onlyTyped.join(', ')}`);
    if (onlyReal.length > 0) problems.push(`${label}: exported at run time but not declared: ${onlyReal.join(', ')}`);
    if (onlyTyped.length === 0 && onlyReal.length === 0) console.log(`${label}: the ${real.size} value exports match`);
  }
  return problems;
}
