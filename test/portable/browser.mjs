// Runs the portable suite in headless Chromium: serves test/portable/ and the
// built package on a loopback port, opens browser.html, and waits for the page
// to post its results. Exits non-zero if any test failed, the runtime was not
// the Chromium asked for, or nothing came back in time.
//
//   node test/portable/browser.mjs [--dist=DIR] [--filter=TEXT]   (CHROMIUM=path overrides `chromium`)
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=')));
const dist = args.dist || 'dist';
const chromium = process.env.CHROMIUM || 'chromium';
const version = /(\d+)\.\d+/.exec(execFileSync(chromium, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }))?.[1];
if (version === undefined) throw new Error(`cannot read the version of ${chromium}`);
const expected = `chromium${version}`;

const types = { '.html': 'text/html', '.mjs': 'text/javascript', '.js': 'text/javascript', '.cjs': 'text/javascript', '.map': 'application/json' };
const served = [join(root, 'test', 'portable') + sep, join(root, normalize(dist)) + sep];
const profile = mkdtempSync(join(tmpdir(), 'breakwater-chromium-'));
let browser;
let stderr = '';

let finished = false;
function finish(code, message) {
  if (finished) return;
  finished = true;
  if (message !== undefined) console.log(message);
  clearTimeout(deadline);
  server.close();
  const done = () => {
    // Chromium may still be writing its profile as it dies: a leftover temp dir is no failure.
    try {
      rmSync(profile, { recursive: true, force: true });
    } catch {}
    process.exit(code);
  };
  if (browser === undefined || browser.exitCode !== null) done();
  else {
    browser.once('exit', done);
    browser.kill('SIGKILL');
  }
}

const server = createServer((req, res) => {
  const url = new URL(req.url, 'http://127.0.0.1');
  if (req.method === 'POST' && url.pathname === '/done') {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      res.end('ok');
      const { ok, lines } = JSON.parse(body);
      for (const line of lines) console.log(line);
      finish(ok ? 0 : 1);
    });
    return;
  }
  const file = normalize(join(root, decodeURIComponent(url.pathname)));
  if (req.method !== 'GET' || !served.some((dir) => file.startsWith(dir))) {
    res.writeHead(404).end();
    return;
  }
  try {
    const content = readFileSync(file);
    res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' }).end(content);
  } catch {
    res.writeHead(404).end();
  }
});

const deadline = setTimeout(() => finish(1, `no results from ${expected} within 120 s\n${stderr.slice(-2_000)}`), 120_000);

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const query = new URLSearchParams({ runtime: expected, dist, ...(args.filter ? { filter: args.filter } : {}) });
  const page = `http://127.0.0.1:${port}/test/portable/browser.html?${query}`;
  browser = spawn(
    chromium,
    ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--no-default-browser-check', `--user-data-dir=${profile}`, page],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  browser.stderr.on('data', (chunk) => (stderr = (stderr + chunk).slice(-10_000)));
  browser.on('exit', (code) => finish(1, `${chromium} exited (${code}) before the suite reported\n${stderr.slice(-2_000)}`));
});
