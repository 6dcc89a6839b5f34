// The portable suite in a browser page (served by browser.mjs): the same
// harness and cases, with the results posted back to the server that serves it.
// Query: ?runtime=chromium156 (required), &dist=DIR, &filter=TEXT.
import { run, trackTimers, trackUnhandledRejections } from './harness.mjs';
import { checkRuntime, detectRuntime } from './runtime.mjs';
import { BROWSER_SUITES } from './cases/index.mjs';
import { selfCheck } from './selfcheck.mjs';

const params = new URLSearchParams(location.search);
const lines = [];
const log = console.log.bind(console);
console.log = (...args) => {
  lines.push(args.join(' '));
  log(...args);
};

let ok = false;
try {
  const expected = params.get('runtime');
  const mismatch = checkRuntime(expected);
  if (mismatch !== undefined) console.log(`runtime check failed: ${mismatch}`);
  else {
    const actual = detectRuntime();
    console.log(`running on ${actual.name} ${actual.version}`);
    trackTimers();
    trackUnhandledRejections();
    const dist = new URL(`../../${params.get('dist') || 'dist'}/`, import.meta.url);
    const bw = await import(new URL('index.js', dist).href);
    const broken = await selfCheck(bw);
    if (broken.length > 0) console.log(`the harness cannot be trusted on ${expected}:\n  ${broken.join('\n  ')}`);
    else {
      console.log('harness self-check: leaked timers, unhandled rejections, left listeners and hangs are caught');
      for (const name of BROWSER_SUITES) (await import(`./cases/${name}.mjs`)).register(bw, dist);
      ({ ok } = await run(expected, { filter: params.get('filter') ?? undefined }));
    }
  }
} catch (error) {
  console.log(`the suite crashed: ${error instanceof Error ? error.stack : String(error)}`);
}
await fetch('/done', { method: 'POST', body: JSON.stringify({ ok, lines }) });
