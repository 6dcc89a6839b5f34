/** The suites, in the order they run. `cjs` needs require (node:module), which browsers lack. */
export const SUITES = ['exports', 'execute', 'retry', 'timeout', 'compose', 'breaker', 'bulkhead', 'hedge', 'fetch', 'fleet', 'cjs'];
export const BROWSER_SUITES = SUITES.filter((name) => name !== 'cjs');
