// `npm run demo:fleet` (examples/fleet-demo.ts), bundled as the script bundles
// it and run as a newcomer would: through a redis-server it starts itself, and
// through createMemoryStore() when there is none (REDIS_SERVER=none). Each run
// must tell which store it used, show the shared limit, one instance's failures
// opening the circuit for all and the one trial that closes it, and exit 0 by
// itself within 15 s.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeRedis } from './harness/redis-server.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
let out: string;
let bundle: string;

beforeAll(() => {
  out = mkdtempSync(join(tmpdir(), 'breakwater-fleet-demo-'));
  const tsup = join(root, 'node_modules/tsup/dist/cli-default.js');
  const build = spawnSync(process.execPath, [tsup, 'examples/fleet-demo.ts', '--no-config', '--format', 'esm', '--target', 'node20', '-d', out, '--silent'], {
    cwd: root,
    encoding: 'utf8',
  });
  if (build.status !== 0) throw new Error(`bundling the demo failed:\n${build.stdout}\n${build.stderr}`);
  bundle = join(out, 'fleet-demo.js');
}, 30_000);
afterAll(() => rmSync(out, { recursive: true, force: true }));

interface Run {
  readonly code: number | null;
  readonly output: string;
  readonly lines: string[];
  readonly ms: number;
}

function runDemo(env: Record<string, string>): Promise<Run> {
  const t0 = performance.now();
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [bundle], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 25_000);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, output, lines: output.split('\n'), ms: performance.now() - t0 });
    });
  });
}

const count = (run: Run, pattern: RegExp): number => run.lines.filter((line) => pattern.test(line)).length;

/** The lines of one act: from its `--- N.` heading to the next heading. */
function act(run: Run, n: number): Run {
  const start = run.lines.findIndex((line) => line.startsWith(`--- ${n}.`));
  const end = run.lines.findIndex((line, i) => i > start && /^--- \d\.|^done/.test(line));
  const lines = run.lines.slice(start, end);
  return { ...run, lines, output: lines.join('\n') };
}

function expectTheStory(run: Run): void {
  expect(run.code, run.output).toBe(0);
  expect(run.ms).toBeLessThan(15_000);
  expect(run.output).not.toMatch(/store unavailable|still keeping the process alive/);

  // 1. The limit is the fleet's: 9 asks, 5 admitted; after one token's time, one more (C's), B turned away.
  const one = act(run, 1);
  expect(one.output).toContain('5 admitted, 4 rate limited');
  expect(count(one, /quote: admitted/)).toBe(6);
  expect(count(one, /quote: rate limited .* next token is due in \d+ ms/)).toBe(5);
  expect(one.output).toMatch(/C {2}quote: admitted[^\n]*\n[^\n]*B {2}quote: rate limited/);
  expect(one.output).toContain('the quotes API was called 6 times in all');

  // 2. A's failures open it; B and C reject without calling payments.
  const two = act(run, 2);
  expect(count(two, /A {2}pay: failed/)).toBe(3);
  expect(two.output).toMatch(/A {2}circuit closed -> open/);
  expect(two.output).toMatch(/B {2}pay: rejected at once — the circuit is open/);
  expect(two.output).toMatch(/C {2}pay: rejected at once — the circuit is open/);
  expect(two.output).toContain('B and C called payments 0 times');

  // 3. One trial for the fleet; its success closes the circuit for all three.
  const three = act(run, 3);
  expect(count(three, /this was the fleet's one trial call/)).toBe(1);
  expect(count(three, /another instance has it/)).toBe(2);
  expect(three.output).toMatch(/half-open -> closed/);
  expect(three.output).toContain('circuit: A closed, B closed, C closed');
  expect(count(three, /pay: ok$/)).toBe(3);
}

describe('npm run demo:fleet', { timeout: 40_000 }, () => {
  it('without redis-server, runs on createMemoryStore(), says so, and tells the whole story', async () => {
    const run = await runDemo({ REDIS_SERVER: 'none' });
    expect(run.output).toMatch(/store: createMemoryStore\(\)/);
    expectTheStory(run);
  });
});

describeRedis('npm run demo:fleet through redis-server', () => {
  it('starts its own redis-server, says so, tells the whole story and stops the server', { timeout: 40_000 }, async () => {
    const run = await runDemo({});
    expect(run.output).toMatch(/store: Redis — redis-server \S+ on 127\.0\.0\.1:\d+, started for this demo/);
    expect(run.output).toContain('done (redis-server stopped)');
    expectTheStory(run);
  });
});
