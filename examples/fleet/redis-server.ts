// A throwaway redis-server for the examples: on a free loopback port, keeping
// nothing on disk (`--save '' --appendonly no`), stopped by `stop()` — or
// killed if this process exits or is interrupted first.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { connectResp } from './resp.js';

/** The binary: `$REDIS_SERVER`, or `redis-server` on the PATH. */
export const REDIS_SERVER = process.env.REDIS_SERVER ?? 'redis-server';

/** A running server. */
export interface LocalRedis {
  readonly port: number;
  /** `redis://127.0.0.1:PORT` */
  readonly url: string;
  /** What `redis-server --version` said, e.g. `7.0.15`. */
  readonly version: string;
  /** Stops the server and waits for it to exit. Safe to call twice. */
  stop(): Promise<void>;
}

/** The installed redis-server's version, or undefined when there is none. */
export function redisServerVersion(): string | undefined {
  const r = spawnSync(REDIS_SERVER, ['--version'], { encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  return /v=(\S+)/.exec(r.stdout)?.[1] ?? r.stdout.trim();
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Spawns the server on `port` and resolves once it answers PING; rejects (and kills it) if it does not within 10 s. */
async function spawnOn(port: number): Promise<ChildProcess> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', tmpdir(), '--loglevel', 'warning'];
  const child = spawn(REDIS_SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  child.once('error', (error) => (output += String(error)));
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`redis-server exited: ${output.trim()}`);
    const probe = connectResp(port);
    const pong = await probe.send('PING').catch(() => undefined);
    probe.close();
    if (pong === 'PONG') return child;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`redis-server on port ${port} did not answer PING within 10 s: ${output.trim()}`);
    }
    await sleep(20);
  }
}

/** Starts redis-server on a free port of 127.0.0.1 and waits until it answers. */
export async function startRedisServer(): Promise<LocalRedis> {
  const version = redisServerVersion();
  if (version === undefined) throw new Error(`${REDIS_SERVER} is not installed`);
  let port = 0;
  let child: ChildProcess | undefined;
  // Another process may bind the free port before redis-server does: try again on another.
  for (let attempt = 0; !child; attempt++) {
    port = await freePort();
    try {
      child = await spawnOn(port);
    } catch (error) {
      if (attempt >= 4) throw error;
    }
  }
  const server = child;
  // Never leave the server behind: on exit, and on Ctrl-C or a kill.
  const onExit = (): void => void server.kill('SIGKILL');
  const onSignal = (signal: NodeJS.Signals): void => {
    server.kill('SIGKILL');
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.on('exit', onExit);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let stopping: Promise<void> | undefined;
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    version,
    stop() {
      stopping ??= (async () => {
        server.kill('SIGTERM');
        await exited(server);
        process.off('exit', onExit);
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      })();
      return stopping;
    },
  };
}
