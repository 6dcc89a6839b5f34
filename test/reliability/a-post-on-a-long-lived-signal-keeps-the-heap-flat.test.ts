// Failure mode: every POST (a request resilientFetch sends at most once) on a
// long-lived caller signal, such as a server's shutdown signal, leaves memory
// behind on that signal: the send-once path built a controller of its own per
// request and joined it to the caller's signal with AbortSignal.any, whose
// bookkeeping on the caller's signal Node does not free while it lives. A
// server sending millions of POSTs grows without bound. A GET never did.
// Heap is measured in a child process with --expose-gc, after full GCs.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { builtEntry, cleanUp, root } from './fixtures/built-entry.js';

const REQUESTS = 20_000;
// Noise after a full GC is a few bytes per request either way; the leak was tens to thousands.
const SLACK = 20;

afterAll(cleanUp);

describe('a POST on a long-lived caller signal', () => {
  it('leaves the heap as flat as a GET does', () => {
    const fixture = join(root, 'test/reliability/fixtures/send-once-heap.mjs');
    const child = spawnSync(process.execPath, ['--expose-gc', fixture, builtEntry(), String(REQUESTS)], { encoding: 'utf8', timeout: 50_000 });
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    const perRequest = JSON.parse(child.stdout) as { GET: number; POST: number };
    expect(perRequest.GET).toBeLessThan(SLACK);
    expect(perRequest.POST, `${perRequest.POST.toFixed(1)} B per POST left on the heap`).toBeLessThan(Math.max(perRequest.GET, 0) + SLACK);
  }, 60_000); // a fresh build plus the child, on a busy machine
});
