// TSDoc check: fails when any export of src/index.ts lacks a description, any
// optional field of an exported `…Options` interface lacks `@default`, or an
// exported function or class lacks an `@example` whose code starts with
// `import … from 'breakwater'`. Uses the TypeScript compiler API (this folder's
// own typescript), reading the sources through the root tsconfig.json.
//
// Usage: node tsdoc.mjs [--root=DIR] [--no-known]
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const here = dirname(fileURLToPath(import.meta.url));
// --root=DIR checks another tree (tools/pack-check/fixtures/tsdoc tests this script); --no-known tolerates nothing.
const args = process.argv.slice(2);
const rootArg = args.find((a) => a.startsWith('--root='))?.slice('--root='.length);
const root = rootArg !== undefined ? join(here, rootArg) : join(here, '..', '..');
const index = join(root, 'src', 'index.ts');

const configFile = join(root, 'tsconfig.json');
const options = ts.sys.fileExists(configFile)
  ? ts.parseJsonConfigFileContent(ts.readConfigFile(configFile, ts.sys.readFile).config, ts.sys, root).options
  : { strict: true, target: ts.ScriptTarget.ES2022 };
const program = ts.createProgram([index], { ...options, noEmit: true });
const checker = program.getTypeChecker();
const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(index));

const known = new Set(args.includes('--no-known') ? [] : JSON.parse(readFileSync(new URL('./known-gaps.json', import.meta.url), 'utf8')).tsdoc);
/** Each problem: where (file:line) and what (`Name: what is missing`, the key known-gaps.json lists). */
const problems = [];
let checked = 0;

function where(node) {
  const sf = node.getSourceFile();
  const { line } = sf.getLineAndCharacterOfPosition(node.getStart());
  return `${relative(root, sf.fileName)}:${line + 1}`;
}

const text = (comment) => (typeof comment === 'string' ? comment : (ts.getTextOfJSDocComment(comment) ?? ''));
const description = (symbol) => ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim();

/** The code of an @example, fences stripped; its first line must be an import from 'breakwater'. */
function exampleStartsWithImport(tag) {
  const lines = text(tag.comment)
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('```'));
  const statement = [];
  for (const line of lines) {
    statement.push(line);
    if (/\bfrom\s+['"][^'"]+['"]/.test(line)) break;
  }
  return /^import\s[\s\S]*\sfrom\s+'breakwater';?$/.test(statement.join(' '));
}

for (const exported of checker.getExportsOfModule(moduleSymbol)) {
  const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
  const name = exported.getName();
  const declarations = symbol.declarations ?? [];
  const declaration = declarations[0];
  if (declaration === undefined) {
    problems.push({ at: 'src/index.ts', what: `${name}: no declaration found` });
    continue;
  }
  checked++;
  const at = where(declaration);
  if (description(symbol) === '') problems.push({ at, what: `${name}: no description` });

  const isValue = declarations.some((d) => ts.isFunctionDeclaration(d) || ts.isClassDeclaration(d));
  if (isValue) {
    const examples = declarations.flatMap((d) => ts.getJSDocTags(d)).filter((t) => t.tagName.text === 'example');
    if (examples.length === 0) problems.push({ at, what: `${name}: no @example` });
    else if (!examples.some(exampleStartsWithImport)) problems.push({ at, what: `${name}: no @example that starts with import … from 'breakwater'` });
  }

  const isOptions = /Options$/.test(name) && declarations.some((d) => ts.isInterfaceDeclaration(d) || ts.isTypeAliasDeclaration(d));
  if (isOptions) {
    const type = checker.getDeclaredTypeOfSymbol(symbol);
    for (const property of checker.getPropertiesOfType(type)) {
      const member = property.declarations?.[0];
      if (member === undefined) continue;
      checked++;
      const fieldAt = where(member);
      const field = `${name}.${property.getName()}`;
      if (description(property) === '') problems.push({ at: fieldAt, what: `${field}: no description` });
      const optional = (property.flags & ts.SymbolFlags.Optional) !== 0;
      const hasDefault = ts.getJSDocTags(member).some((t) => t.tagName.text === 'default');
      // A required field has no default; an optional one must say what leaving it out means.
      if (optional && !hasDefault) problems.push({ at: fieldAt, what: `${field}: optional field without @default` });
    }
  }
}

let failures = 0;
for (const { at, what } of problems) {
  const tolerated = known.has(what);
  if (!tolerated) failures++;
  console.log(`${tolerated ? 'KNOWN GAP' : 'MISSING  '} ${at} ${what}`);
}
const found = new Set(problems.map((p) => p.what));
for (const gap of known) if (!found.has(gap)) console.log(`note: known gap "${gap}" is fixed; remove it from tools/pack-check/known-gaps.json`);
console.log(`tsdoc: ${checked} exports and options fields checked, ${failures} missing, ${problems.length - failures} known gap(s)`);
process.exit(failures === 0 ? 0 : 1);
