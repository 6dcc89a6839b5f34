// Docs check: every internal link in the Markdown docs resolves, and every
// TypeScript/JavaScript code block in README.md and docs/*.md, and every
// `@example` in the TSDoc of src/, compiles against the BUILT package
// (dist/index.d.ts, as users get it). All blocks go into one TypeScript
// program, held in memory, so the check takes a few seconds.
//
// Usage: node tools/docs-check/check.mjs [--list] [--root=DIR]
//   --list      print every block found and how it is checked
//   --root=DIR  check another tree (tools/docs-check/fixtures tests this script)
//
// How a Markdown block is checked is set by its fence and, optionally, one
// HTML comment right before it (GitHub does not render it):
//
//   ```ts / ```typescript / ```tsx      compiled as a TypeScript module
//   ```js / ```javascript / ```mjs      compiled as a JavaScript module (checkJs)
//   ```sh, ```text, ```mermaid …        not code: skipped (see NOT_CODE)
//   ``` (no language)                   an error: say what the block is
//
//   <!-- docs-check: prelude
//   declare const pool: import('pg').Pool;
//   -->                                 TypeScript put before the block: stubs for the
//                                       reader's own things (a db, a cache), never for breakwater
//   <!-- docs-check: beside examples/metrics -->
//                                       compiled as if it were a file in that folder, so
//                                       its relative imports resolve there
//   <!-- docs-check: fragment: why -->  a deliberate fragment, not compiled (keep these rare;
//                                       the reason is required and printed)
//
// Several directives may share one comment, one per line. TSDoc examples take
// no directives: each must compile on its own.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const rootArg = args.find((a) => a.startsWith('--root='))?.slice('--root='.length);
const root = rootArg !== undefined ? resolve(rootArg) : join(here, '..', '..');
const listing = args.includes('--list');

const TS = new Set(['ts', 'typescript', 'tsx']);
const JS = new Set(['js', 'javascript', 'mjs']);
const NOT_CODE = new Set(['sh', 'bash', 'shell', 'console', 'text', 'txt', 'mermaid', 'json', 'jsonc', 'yaml', 'yml', 'diff', 'http', 'sql', 'ini', 'toml', 'html', 'xml', 'csv']);

/** Each problem: `file:line: what`. */
const problems = [];
const problem = (file, line, what) => problems.push(`${relative(root, file)}:${line}: ${what}`);

// ---------------------------------------------------------------- Markdown

function markdownFiles() {
  const files = [join(root, 'README.md')];
  const add = (dir, filter = () => true) => {
    if (!existsSync(dir)) return;
    for (const name of readdirSync(dir).sort()) if (name.endsWith('.md') && filter(name)) files.push(join(dir, name));
  };
  add(join(root, 'docs'));
  add(join(root, 'bench'));
  const examples = join(root, 'examples');
  if (existsSync(examples)) {
    for (const name of readdirSync(examples).sort()) {
      const dir = join(examples, name);
      if (statSync(dir).isDirectory()) add(dir, (n) => n === 'README.md');
    }
  }
  return files.filter((f) => existsSync(f));
}

/** Code blocks are checked in these; links in every file of markdownFiles(). */
const codeChecked = (file) => file === join(root, 'README.md') || dirname(file) === join(root, 'docs');

/**
 * Splits a Markdown file into prose lines (code spans blanked, so links in
 * them are not links) and fenced blocks with the comment directly before them.
 */
function parseMarkdown(file) {
  const lines = readFileSync(file, 'utf8').split('\n');
  const prose = []; // { line, text }
  const blocks = []; // { line, lang, code, directives }
  let fence;
  let pendingComment; // { text, endLine } of the last HTML comment in prose
  let comment; // an HTML comment being read
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i];
    if (fence !== undefined) {
      const close = text.trim();
      if (close.length >= fence.marker.length && close === fence.marker[0].repeat(close.length)) {
        blocks.push({ line: fence.line, lang: fence.lang, code: fence.body.join('\n'), directives: fence.directives });
        fence = undefined;
      } else fence.body.push(text);
      continue;
    }
    if (comment !== undefined) {
      comment.body.push(text);
      if (text.includes('-->')) {
        pendingComment = { text: comment.body.join('\n'), endLine: i };
        comment = undefined;
      }
      continue;
    }
    const open = /^(\s*)(`{3,}|~{3,})\s*([^`\s]*)/.exec(text);
    if (open !== undefined && open !== null) {
      const directives = pendingComment !== undefined && pendingComment.endLine >= i - 2 ? parseDirectives(pendingComment.text) : {};
      fence = { marker: open[2], lang: open[3].toLowerCase(), line: i + 1, body: [], directives };
      pendingComment = undefined;
      continue;
    }
    if (text.trimStart().startsWith('<!--')) {
      if (text.includes('-->')) pendingComment = { text, endLine: i };
      else comment = { body: [text] };
      continue;
    }
    if (text.trim() !== '') pendingComment = undefined;
    prose.push({ line: i + 1, text: text.replace(/(`+)[\s\S]*?\1/g, (m) => ' '.repeat(m.length)) });
  }
  if (fence !== undefined) problem(file, fence.line, 'code block never closed');
  return { lines, prose, blocks };
}

function parseDirectives(text) {
  const body = text.replace(/^\s*<!--/, '').replace(/-->\s*$/, '');
  if (!/^\s*docs-check\b/.test(body)) return {};
  const directives = {};
  // "docs-check: prelude" takes every line after it as code; the other directives are one line each.
  const rest = body.replace(/^\s*docs-check\b:?/, '');
  const lines = rest.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim().replace(/^docs-check:\s*/, '');
    if (line === '') continue;
    const [, name, arg = ''] = /^([a-z-]+):?\s*(.*)$/.exec(line) ?? [];
    if (name === 'prelude') {
      directives.prelude = [arg, ...lines.slice(i + 1)].join('\n').trim();
      break;
    }
    if (name === 'beside' || name === 'fragment') directives[name] = arg.trim();
    else directives.unknown = line;
  }
  return directives;
}

/** GitHub's heading ids: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function slug(heading) {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // links and images: their text
    .replace(/<[^>]+>/g, '') // inline HTML
    .replace(/`/g, '')
    .trim()
    .toLowerCase();
  return text.replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-');
}

const anchorCache = new Map();
function anchorsOf(file) {
  let anchors = anchorCache.get(file);
  if (anchors !== undefined) return anchors;
  anchors = new Set();
  const seen = new Map();
  const { prose, lines } = parseMarkdown(file);
  for (const { line, text } of prose) {
    // Matched on the original line: code spans are blanked in `text`, but their text is in the id.
    const h = /^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(lines[line - 1]);
    if (h !== null) {
      const base = slug(h[1]);
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      anchors.add(n === 0 ? base : `${base}-${n}`);
    }
    for (const m of text.matchAll(/<a\s+(?:[^>]*\s)?(?:id|name)="([^"]+)"/g)) anchors.add(m[1]);
  }
  anchorCache.set(file, anchors);
  return anchors;
}

function checkLinks(file) {
  const { prose } = parseMarkdown(file);
  for (const { line, text } of prose) {
    const targets = [
      ...[...text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]),
      ...[...text.matchAll(/^\s*\[[^\]]+\]:\s*(\S+)/g)].map((m) => m[1]),
      ...[...text.matchAll(/\shref="([^"]+)"/g)].map((m) => m[1]),
    ];
    for (const target of targets) checkLink(file, line, target);
  }
}

function checkLink(file, line, target) {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return; // https:, mailto: …: not ours to check
  const hash = target.indexOf('#');
  const path = decodeURIComponent((hash === -1 ? target : target.slice(0, hash)).replace(/\?.*$/, ''));
  const anchor = hash === -1 ? undefined : decodeURIComponent(target.slice(hash + 1));
  const dest = path === '' ? file : resolve(dirname(file), path);
  if (path.startsWith('/')) return problem(file, line, `link ${target}: use a relative path`);
  if (!existsSync(dest)) return problem(file, line, `link ${target}: ${relative(root, dest)} does not exist`);
  if (!relative(root, dest).split(/[\\/]/).every((part) => part !== '..')) return problem(file, line, `link ${target}: points outside the repository`);
  if (anchor === undefined || anchor === '') return;
  if (!dest.endsWith('.md')) {
    if (!/^L\d+(-L\d+)?$/.test(anchor)) problem(file, line, `link ${target}: only #L<line> anchors are checked in a non-Markdown file`);
    return;
  }
  if (!anchorsOf(dest).has(anchor)) {
    const near = [...anchorsOf(dest)].filter((a) => a.includes(anchor.slice(0, 6)) || anchor.includes(a)).slice(0, 3);
    problem(file, line, `link ${target}: no heading #${anchor} in ${relative(root, dest)}${near.length > 0 ? ` (did you mean ${near.map((a) => `#${a}`).join(', ')}?)` : ''}`);
  }
}

// ---------------------------------------------------------------- TSDoc

function sourceFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (/\.ts$/.test(name) && !/\.test(-d)?\.ts$/.test(name) && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** The ```ts blocks of every @example in the JSDoc comments of src/. */
function tsdocExamples(file) {
  const lines = readFileSync(file, 'utf8').split('\n');
  const examples = [];
  let inExample = false;
  let block;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i];
    if (!/^\s*\*/.test(raw) && !/^\s*\/\*\*/.test(raw)) {
      inExample = false;
      continue;
    }
    const text = raw.replace(/^\s*\/?\*\*?\/?\s?/, '');
    if (block !== undefined) {
      if (/^```\s*$/.test(text.trim())) {
        examples.push(block);
        block = undefined;
        inExample = false;
      } else block.body.push(text);
      continue;
    }
    if (/@example\b/.test(text)) inExample = true;
    else if (/^@\w/.test(text.trim())) inExample = false;
    const open = /^```\s*([^`\s]*)/.exec(text.trim());
    if (open !== null && inExample) {
      block = { line: i + 1, lang: open[1].toLowerCase() || 'ts', body: [] };
    }
    if (raw.includes('*/')) inExample = false;
  }
  return examples.map((e) => ({ line: e.line, lang: e.lang, code: e.body.join('\n'), directives: {} }));
}

// ---------------------------------------------------------------- compile

const blocksDir = join(here, 'blocks'); // virtual: nothing is written there
const virtual = new Map(); // fileName -> { text, source, line, preludeLines }
let counter = 0;

function addBlock(source, block) {
  const { lang, directives } = block;
  const where = `${relative(root, source)}:${block.line}`;
  if (directives.unknown !== undefined) return problem(source, block.line, `unknown docs-check directive "${directives.unknown}"`);
  if (lang === '') return problem(source, block.line, 'code block without a language: mark it ts, js, sh, text …');
  if (NOT_CODE.has(lang)) return listing && console.log(`${where}  ${lang}: not code, skipped`);
  if (!TS.has(lang) && !JS.has(lang)) return problem(source, block.line, `code block in unknown language "${lang}": add it to NOT_CODE in tools/docs-check/check.mjs or mark it ts/js/text`);
  if (directives.fragment !== undefined) {
    if (directives.fragment === '') return problem(source, block.line, 'docs-check: fragment needs a reason');
    console.log(`${where}  fragment, not compiled: ${directives.fragment}`);
    return;
  }
  if (directives.prelude !== undefined && JS.has(lang)) return problem(source, block.line, 'docs-check: prelude is TypeScript; it cannot go before a js block');
  const dir = directives.beside !== undefined ? join(root, directives.beside) : blocksDir;
  if (directives.beside !== undefined && !existsSync(dir)) return problem(source, block.line, `docs-check: beside ${directives.beside}: no such folder`);
  const ext = TS.has(lang) ? (lang === 'tsx' ? 'tsx' : 'ts') : 'mjs';
  const name = join(dir, `__docs_check_${++counter}_${relative(root, source).replace(/[^a-zA-Z0-9]+/g, '_')}_${block.line}.${ext}`);
  const prelude = directives.prelude !== undefined ? `${directives.prelude}\n` : '';
  // `export {}` keeps a block without imports a module of its own, so blocks never share names.
  const text = `${prelude}${block.code}\nexport {};\n`;
  virtual.set(name, { text, source, line: block.line, preludeLines: prelude === '' ? 0 : prelude.split('\n').length - 1 });
  if (listing) console.log(`${where}  ${lang}${directives.prelude !== undefined ? ', with prelude' : ''}${directives.beside !== undefined ? `, beside ${directives.beside}` : ''}`);
}

function compile() {
  const dist = join(root, 'dist', 'index.d.ts');
  if (!existsSync(dist)) {
    problems.push(`dist/index.d.ts missing: run \`npm run build\` first`);
    return;
  }
  const options = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts', 'lib.dom.iterable.d.ts'],
    types: ['node'],
    typeRoots: [join(here, 'node_modules', '@types')],
    strict: true,
    allowJs: true,
    checkJs: true,
    noEmit: true,
    skipLibCheck: true,
    allowImportingTsExtensions: true,
    resolveJsonModule: true,
    // Against the built declarations, the way a user's project sees the package.
    baseUrl: root,
    paths: { breakwater: [dist] },
  };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.fileExists = (f) => virtual.has(f) || fileExists.call(host, f);
  host.readFile = (f) => virtual.get(f)?.text ?? readFile.call(host, f);
  host.getSourceFile = (f, lang, ...rest) => {
    const v = virtual.get(f);
    return v !== undefined ? ts.createSourceFile(f, v.text, lang, true) : getSourceFile.call(host, f, lang, ...rest);
  };
  const program = ts.createProgram([...virtual.keys()], options, host);
  const diagnostics = [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics()];
  for (const f of virtual.keys()) {
    const sf = program.getSourceFile(f);
    diagnostics.push(...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf));
  }
  for (const d of diagnostics) {
    const message = ts.flattenDiagnosticMessageText(d.messageText, '\n    ');
    const v = d.file !== undefined ? virtual.get(d.file.fileName) : undefined;
    if (v === undefined) {
      problems.push(`${d.file !== undefined ? relative(root, d.file.fileName) : 'tsc'}: TS${d.code}: ${message}`);
      continue;
    }
    const { line } = d.file.getLineAndCharacterOfPosition(d.start ?? 0);
    const inBlock = line - v.preludeLines;
    const at = inBlock < 0 ? `${v.line} (in its docs-check prelude)` : `${v.line + 1 + inBlock}`;
    problems.push(`${relative(root, v.source)}:${at}: TS${d.code}: ${message}`);
  }
}

// ---------------------------------------------------------------- run

const started = performance.now();
const markdown = markdownFiles();
let mdBlocks = 0;
for (const file of markdown) {
  checkLinks(file);
  if (!codeChecked(file)) continue;
  for (const block of parseMarkdown(file).blocks) {
    mdBlocks++;
    addBlock(file, block);
  }
}
let docExamples = 0;
const src = join(root, 'src');
for (const file of existsSync(src) ? sourceFiles(src) : []) {
  for (const example of tsdocExamples(file)) {
    docExamples++;
    addBlock(file, example);
  }
}
compile();

const seconds = ((performance.now() - started) / 1000).toFixed(1);
const summary = `${markdown.length} Markdown files' links, ${mdBlocks} Markdown code blocks and ${docExamples} TSDoc examples (${virtual.size} compiled), in ${seconds} s`;
if (problems.length > 0) {
  for (const p of problems) console.error(p);
  console.error(`docs check: ${problems.length} problem${problems.length === 1 ? '' : 's'} in ${summary}`);
  process.exit(1);
}
console.log(`docs check passed: ${summary}`);
