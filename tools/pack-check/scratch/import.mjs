// ESM: import('breakwater') resolves to the ESM build and works.
import assert from 'node:assert/strict';

const bw = await import('breakwater');
assert.match(import.meta.resolve('breakwater'), /breakwater\/dist\/index\.js$/);
assert.equal(bw.default, undefined, 'the ESM build has no default export');
for (const name of ['wrap', 'retryWithBackoff', 'withTimeout', 'withFallback', 'TimeoutError', 'BrokenCircuitError']) {
  assert.equal(typeof bw[name], 'function', `import('breakwater').${name}`);
}

let calls = 0;
const value = await bw.wrap(bw.retryWithBackoff({ initialDelay: 1 }), bw.withTimeout(1000)).execute((ctx) => {
  calls++;
  if (ctx.attempt < 2) throw new Error('once');
  return `attempt ${ctx.attempt}`;
});
assert.equal(value, 'attempt 2');
assert.equal(calls, 2);

// The same names from both builds.
const { createRequire } = await import('node:module');
const cjs = createRequire(import.meta.url)('breakwater');
assert.deepEqual(Object.keys(cjs).filter((k) => k !== '__esModule').sort(), Object.keys(bw).sort());
console.log("import('breakwater'): ok");
