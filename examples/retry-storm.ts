// Prints what a fleet of 100 clients does to a service that fails every call
// for 10 s, without a retry budget and with one. Runs on a virtual clock, so
// it takes a second or two of real time and prints the same figures every run.
// Run it with `npm run storm`.
import { setImmediate as realSetImmediate } from 'node:timers';
import { runStorm, type StormOptions, type StormReport } from './storm-scenario.js';
import { heapPop, heapPush } from './timer-heap.js';

// --- a virtual clock: setTimeout / clearTimeout / performance.now over a min-heap of timers --------
interface Timer {
  at: number;
  seq: number;
  fn: () => void;
}
let clock = 0;
let seq = 0;
const heap: Timer[] = [];
const cancelled = new Set<Timer>();
const settle = (): Promise<void> => new Promise((resolve) => realSetImmediate(resolve));

Object.assign(globalThis, {
  setTimeout: (fn: () => void, ms = 0): Timer => {
    const timer = { at: clock + Math.max(0, ms), seq: seq++, fn };
    heapPush(heap, timer);
    return timer;
  },
  clearTimeout: (timer: Timer | undefined): void => {
    if (timer !== undefined) cancelled.add(timer);
  },
});
performance.now = () => clock;
// The memory store's clock (the fleet row's) is Date.now(): virtual too, from a
// fixed epoch, so the store's time buckets fall the same way every run.
Date.now = () => 1_700_000_000_000 + clock;

async function advance(ms: number): Promise<void> {
  const until = clock + ms;
  await settle();
  for (let timer = heapPop(heap); timer !== undefined; timer = heapPop(heap)) {
    if (timer.at > until) {
      heapPush(heap, timer);
      break;
    }
    if (cancelled.delete(timer)) continue;
    clock = timer.at;
    timer.fn();
    await settle(); // let the promise chains this timer started run before the next one
  }
  clock = until;
}

// --- the scenarios ---------------------------------------------------------------------------------
const scenarios: StormOptions[] = [
  { budget: 'none' },
  { budget: 'shared', ratio: 0.2, minRetriesPerSecond: 10 },
  { budget: 'shared', ratio: 0.1, minRetriesPerSecond: 10 },
  { budget: 'per-client', ratio: 0.2, minRetriesPerSecond: 10 },
  { budget: 'per-client', ratio: 0.2, minRetriesPerSecond: 1 },
  { budget: 'fleet', ratio: 0.2, minRetriesPerSecond: 10 },
];

console.log('100 clients × 5 calls/s (500 calls/s), 2 s healthy, then 10 s of 100% failures;');
console.log('retryWithBackoff({ maxRetries: 3, initialDelay: 100 }) on every client.\n');
const rows: StormReport[] = [];
for (const scenario of scenarios) rows.push(await runStorm(scenario, advance));
const header = ['retry budget', 'first attempts', 'retries', 'load ×', 'busiest second ×', 'refused'];
const table = rows.map((r) => [r.budget, String(r.firstAttempts), String(r.retries), r.amplification.toFixed(2), r.peak.toFixed(2), String(r.refused)]);
const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
const line = (cells: string[]): string => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
console.log(line(header));
console.log(`|${widths.map((w, i) => (i === 0 ? ` ${'-'.repeat(w)} ` : ` ${'-'.repeat(w - 1)}: `)).join('|')}|`);
for (const row of table) console.log(line(row));
console.log('\nload × = attempts the service saw during the outage / first attempts; busiest second × = the');
console.log('busiest second of the outage / healthy attempts per second. shared = one RetryBudget object for all');
console.log('clients; per-client = one each; fleet = one each, all with the same store (createMemoryStore()) and key.');
