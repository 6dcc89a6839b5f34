// `npm run overload`: the overload simulation of issue 15, printed as a table,
// PASS/FAIL lines against its targets, an ASCII chart, and an SVG written next
// to the built script (or to the path given with --svg <file>).
// Runs on a discrete-event clock: a few seconds of real time, the same figures every run.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ascii, svg } from './chart.js';
import { HALVE_AT, header, simulate, table } from './report.js';

const report = await simulate();
const { setup } = report;
for (const line of header(setup)) console.log(line);
console.log('');
console.log(table(report));
console.log('');
console.log(`Unloaded latency (no limit's p50 at ${report.loads[0]}×): ${report.unloaded.toFixed(0)} ms.`);
console.log('');

const capacity = (t: number): number => (t > HALVE_AT ? setup.capacity / 2 : setup.capacity);
console.log(`2× load; at ${HALVE_AT / 1000} s the downstream loses half its servers (g = gradient, v = vegas, a = aimd, · = capacity):`);
console.log('');
console.log(ascii(report.halved, (p) => p.limit, 'limit', 10, capacity));
console.log('');
console.log(ascii(report.halved, (p) => p.p99, 'p99 latency, ms (per 250 ms)', 8));
console.log('');

const svgArg = process.argv.indexOf('--svg');
const file = svgArg > 0 ? path.resolve(process.argv[svgArg + 1]!) : path.join(path.dirname(fileURLToPath(import.meta.url)), 'overload.svg');
const caption = `2× load on ${setup.capacity} servers of ${setup.baseLatency} ms; half of them go at ${HALVE_AT / 1000} s. Seed ${setup.seed}.`;
writeFileSync(file, svg(report.halved, capacity, caption));
console.log(`SVG: ${file}`);
console.log('');

console.log('Targets:');
for (const c of report.checks) console.log(`${c.pass ? 'PASS' : 'FAIL'}  ${c.name}: ${c.measured}`);
const failed = report.checks.filter((c) => !c.pass).length;
console.log('');
console.log(`${report.checks.length - failed} of ${report.checks.length} targets met.`);
process.exitCode = failed > 0 ? 1 : 0;
