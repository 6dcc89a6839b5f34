// A throwaway PostgreSQL cluster in a temp dir, on a loopback port, that the
// integration run can stop and start at will. As root (CI) the server runs as
// `nobody`, since initdb and postgres refuse to run as root.
import { execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Cluster {
  readonly host: string;
  readonly port: number;
  readonly dir: string;
  /** Starts the server and waits until it accepts connections. */
  start(): Promise<void>;
  /** Stops it: `immediate` kills every backend at once (a crash, as far as clients can tell). */
  stop(mode: 'fast' | 'immediate'): Promise<void>;
  /** Freezes every server process (SIGSTOP): connections stay open and nothing answers, like a hung host. */
  freeze(): void;
  /** Lets the frozen processes run again (SIGCONT). */
  thaw(): void;
  /** Stops it if running and deletes the data directory. */
  destroy(): Promise<void>;
}

function binDir(): string {
  if (process.env.PG_BIN !== undefined) return process.env.PG_BIN;
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const newest = readdirSync(base).sort((a, b) => Number(b) - Number(a))[0];
    if (newest !== undefined && existsSync(join(base, newest, 'bin', 'pg_ctl'))) return join(base, newest, 'bin');
  }
  return ''; // rely on PATH
}

/** The postmaster's pid (from its pid file) and its children's, read from /proc. */
function serverPids(data: string): number[] {
  const postmaster = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const pids = [postmaster];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // /proc/PID/stat: "pid (comm) state ppid ..."; comm may hold spaces, so split after the last ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === postmaster) pids.push(Number(entry));
    } catch {
      // the process ended meanwhile
    }
  }
  return pids;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

export async function createCluster(): Promise<Cluster> {
  const bin = binDir();
  const tool = (name: string): string => (bin === '' ? name : join(bin, name));
  const asRoot = process.getuid?.() === 0;
  const uid = asRoot ? Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim()) : undefined;
  const gid = asRoot ? Number(execFileSync('id', ['-g', 'nobody'], { encoding: 'utf8' }).trim()) : undefined;

  // PG_WORKDIR lets a CI script own the parent dir, to clean up even if this process is killed.
  const dir = mkdtempSync(join(process.env.PG_WORKDIR ?? tmpdir(), 'breakwater-pg-'));
  if (uid !== undefined && gid !== undefined) chownSync(dir, uid, gid);
  const data = join(dir, 'data');
  const port = await freePort();
  const host = '127.0.0.1';

  const run = (name: string, args: string[]): Promise<void> =>
    new Promise((resolve, reject) => {
      const child = spawn(tool(name), args, {
        cwd: dir,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', LANG: 'C' },
        stdio: ['ignore', 'pipe', 'pipe'],
        ...(uid !== undefined && gid !== undefined ? { uid, gid } : {}),
      });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${name} ${args.join(' ')} exited ${code}:\n${output}`))));
    });

  await run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8']);
  const options = `-p ${port} -k ${dir} -c listen_addresses=${host} -c max_connections=50`;
  let running = false;
  let frozen: number[] = [];
  const thaw = (): void => {
    for (const pid of frozen) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // it ended meanwhile
      }
    }
    frozen = [];
  };
  return {
    host,
    port,
    dir,
    async start() {
      await run('pg_ctl', ['-D', data, '-l', join(dir, 'server.log'), '-o', options, '-w', '-t', '30', 'start']);
      running = true;
    },
    async stop(mode) {
      await run('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '30', 'stop']);
      running = false;
    },
    freeze() {
      frozen = serverPids(data);
      for (const pid of frozen) process.kill(pid, 'SIGSTOP');
    },
    thaw,
    async destroy() {
      thaw();
      if (running) await run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => {});
      running = false;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
