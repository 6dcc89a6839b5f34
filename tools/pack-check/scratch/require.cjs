// CommonJS: require('breakwater') resolves to the CJS build and works.
const assert = require('node:assert/strict');
const bw = require('breakwater');

assert.match(require.resolve('breakwater'), /breakwater[\\/]dist[\\/]index\.cjs$/);
for (const name of ['wrap', 'retryWithBackoff', 'withTimeout', 'withFallback', 'TimeoutError', 'BrokenCircuitError']) {
  assert.equal(typeof bw[name], 'function', `require('breakwater').${name}`);
}

let calls = 0;
const pipeline = bw.wrap(bw.withFallback('fallback'), bw.retryWithBackoff({ maxRetries: 1, initialDelay: 1 }), bw.withTimeout(1000));
pipeline
  .execute(() => {
    calls++;
    throw new Error('down');
  })
  .then((value) => {
    assert.equal(value, 'fallback');
    assert.equal(calls, 2);
    assert.equal(new bw.TimeoutError().name, 'TimeoutError');
    console.log("require('breakwater'): ok");
  });
