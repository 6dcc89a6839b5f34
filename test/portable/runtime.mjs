// Which runtime is this, really? Bun and Deno both fill in process.versions.node
// for compatibility, so they are told apart by their own globals first.

export function detectRuntime() {
  const deno = globalThis.Deno?.version?.deno;
  if (typeof deno === 'string') return { name: 'deno', version: deno };
  const bun = globalThis.Bun?.version;
  if (typeof bun === 'string') return { name: 'bun', version: bun };
  const node = globalThis.process?.versions?.node;
  if (typeof node === 'string') return { name: 'node', version: node };
  const chromium = /Chrom(?:e|ium)\/(\d[\d.]*)/.exec(globalThis.navigator?.userAgent ?? '');
  if (typeof globalThis.document !== 'undefined' && chromium !== null) return { name: 'chromium', version: chromium[1] };
  return { name: 'unknown', version: '0' };
}

/** The command-line arguments after the script, on every runtime. */
export function scriptArgs() {
  if (typeof globalThis.Deno !== 'undefined') return [...globalThis.Deno.args];
  return globalThis.process.argv.slice(2);
}

export function exit(code) {
  if (typeof globalThis.Deno !== 'undefined') globalThis.Deno.exit(code);
  else globalThis.process.exit(code);
}

/**
 * Checks that we run on `expected`, spelled `<name><major>` (node20, node22,
 * node24, node26, deno2, bun1, chromium156). Returns an error message, or undefined when it matches.
 */
export function checkRuntime(expected) {
  const match = /^(node|deno|bun|chromium)(\d+)$/.exec(expected ?? '');
  if (match === null) return `expected runtime must look like node22, deno2, bun1 or chromium156; got ${JSON.stringify(expected)}`;
  const actual = detectRuntime();
  const major = Number(actual.version.split('.')[0]);
  if (actual.name !== match[1] || major !== Number(match[2])) {
    return `expected to run on ${expected} but this is ${actual.name} ${actual.version}`;
  }
  return undefined;
}
