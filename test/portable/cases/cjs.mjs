// The CommonJS build: require() works on every runtime, exports the same
// names as the ESM build, and the two copies recognise each other's errors by name.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { assert, test } from '../harness.mjs';

export function register(esm, dist) {
  const require = createRequire(import.meta.url);
  const cjsPath = fileURLToPath(new URL('index.cjs', dist));

  test('dist/index.cjs loads with require() and exports what dist/index.js exports', () => {
    const cjs = require(cjsPath);
    const names = (mod) => Object.keys(mod).filter((k) => k !== 'default' && k !== '__esModule').sort();
    assert.deepEqual(names(cjs), names(esm));
  });

  test('a CommonJS pipeline runs, and its errors are not retried by the ESM copy (checked by name)', async () => {
    const cjs = require(cjsPath);
    let n = 0;
    const value = await cjs
      .wrap(cjs.retryWithBackoff({ initialDelay: 1 }), cjs.withTimeout(1_000))
      .execute((ctx) => (++n < 2 ? Promise.reject(new Error('once')) : `cjs attempt ${ctx.attempt}`));
    assert.equal(value, 'cjs attempt 2');

    const foreign = new cjs.BrokenCircuitError();
    assert.ok(!(foreign instanceof esm.BrokenCircuitError), 'the two builds share classes; the check proves nothing');
    let calls = 0;
    const error = await assert.rejects(
      esm.retryWithBackoff({ initialDelay: 1 }).execute(() => {
        calls++;
        throw foreign;
      }),
      'BrokenCircuitError',
    );
    assert.equal(error, foreign);
    assert.equal(calls, 1);
  });
}
