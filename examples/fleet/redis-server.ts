// A throwaway redis-server for the demo, the examples' checks, the fleet tests
// and the fleet bench: on a free loopback port, keeping nothing on disk
// (`--save '' --appendonly no`), stopped by `stop()` — or killed if this
// process exits or is interrupted first, and by a watchdog within a second if
// this process is killed outright. For the fleet tests it also makes faults:
// kill -9, a restart on the same port, CLIENT PAUSE.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { connect, type RespClient } from './resp.js';

/** The binary: `$REDIS_SERVER`, or `redis-server` on the PATH. */
export const REDIS_SERVER = process.env.REDIS_SERVER ?? 'redis-server';

/** A running server. */
export interface LocalRedis {
  readonly port: number;
  /** `redis://127.0.0.1:PORT` */
  readonly url: string;
  /** What `redis-server --version` said, e.g. `7.0.15`. */
  readonly version: string;
  /** Whether the server process is running. */
  readonly running: boolean;
  /** Stops the server (SIGTERM) and waits for it to exit. Safe to call twice. */
  stop(): Promise<void>;
  /** Kills the server with SIGKILL and waits for it to exit: every connection drops, all data is lost. */
  kill9(): Promise<void>;
  /** Starts the server again on the same port (after `kill9` or `stop`; kills it first if running) and waits for PING. */
  restart(): Promise<void>;
  /** `CLIENT PAUSE ms ALL`: the server answers no client for `ms`. Resolves once the pause has begun. */
  pause(ms: number): Promise<void>;
  /**
   * Runs one command through a connection of its own (made again after a restart); rejects at once
   * if the server is down, and waits out a CLIENT PAUSE like any client.
   */
  command(command: string, ...args: (string | number)[]): Promise<unknown>;
}

/** The installed redis-server's version, or undefined when there is none. */
export function redisServerVersion(): string | undefined {
  const r = spawnSync(REDIS_SERVER, ['--version'], { encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  return /v=(\S+)/.exec(r.stdout)?.[1] ?? r.stdout.trim();
}

/** A free TCP port on 127.0.0.1 (the OS picks one; released before redis-server binds it). */
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

// Never leave a server behind: every live one is killed when this process exits, or on Ctrl-C or a
// kill. The hooks are there only while a server runs, so they change nothing for a process without one.
const live = new Set<ChildProcess>();
const killAll = (): void => {
  for (const child of live) child.kill('SIGKILL');
};
const onSignal = (signal: NodeJS.Signals): void => {
  killAll();
  process.exit(signal === 'SIGINT' ? 130 : 143);
};
function track(child: ChildProcess): void {
  if (live.size === 0) {
    process.on('exit', killAll);
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }
  live.add(child);
  child.once('exit', () => {
    live.delete(child);
    if (live.size > 0) return;
    process.off('exit', killAll);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  });
  // If this process dies without running its exit hook (SIGKILL, a killed test worker), a watchdog
  // kills the server within a second. (Where there is no `sh`, there is no watchdog.)
  spawn('sh', ['-c', 'while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 1; done; kill -9 "$2" 2>/dev/null', 'redis-watchdog', String(process.pid), String(child.pid)], {
    stdio: 'ignore',
    detached: true,
  })
    .once('error', () => {})
    .unref();
}

/** Spawns the server on `port` and resolves once it answers PING; rejects with its output (and kills it) if it exits first or does not answer within 10 s. */
async function spawnOn(port: number, extra: readonly string[]): Promise<ChildProcess> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', tmpdir(), '--loglevel', 'warning', ...extra];
  const child = spawn(REDIS_SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  child.once('error', (error) => (output += String(error)));
  if (child.pid !== undefined) track(child);
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) throw new Error(`redis-server on port ${port} exited: ${output.trim()}`);
    const probe = connect(port);
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

/**
 * Starts redis-server on a free port of 127.0.0.1 and waits until it answers. `extraArgs` are appended
 * to its command line (e.g. `['--maxmemory-policy', 'noeviction']`). Rejects when it is not installed.
 */
export async function startRedisServer(extraArgs: readonly string[] = []): Promise<LocalRedis> {
  const version = redisServerVersion();
  if (version === undefined) throw new Error(`${REDIS_SERVER} is not installed`);
  let port = 0;
  let child: ChildProcess | undefined;
  // Another process may bind the free port before redis-server does: try again on another.
  for (let attempt = 0; !child; attempt++) {
    port = await freePort();
    try {
      child = await spawnOn(port, extraArgs);
    } catch (error) {
      if (attempt >= 4) throw error;
    }
  }
  let last: ChildProcess = child;
  let client: RespClient | undefined;
  // A client that fails fast while the server is down and connects again on the next command.
  const command = (name: string, ...args: (string | number)[]): Promise<unknown> => (client ??= connect(port)).send(name, args);
  /** Signals the server (unless it has exited) and waits for it to exit; a second call waits for the same exit. */
  const halt = async (signal: NodeJS.Signals): Promise<void> => {
    client?.close();
    client = undefined;
    child = undefined;
    if (last.exitCode === null && last.signalCode === null) last.kill(signal);
    await exited(last);
  };
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    version,
    get running() {
      return child !== undefined;
    },
    stop: () => halt('SIGTERM'),
    kill9: () => halt('SIGKILL'),
    async restart() {
      await halt('SIGKILL');
      // The port was just ours; redis-server binds with SO_REUSEADDR, but retry briefly in case.
      for (let attempt = 0; ; attempt++) {
        try {
          last = child = await spawnOn(port, extraArgs);
          return;
        } catch (error) {
          if (attempt >= 20) throw error;
          await sleep(50);
        }
      }
    },
    async pause(ms: number) {
      await command('CLIENT', 'PAUSE', ms, 'ALL');
    },
    command,
  };
}
