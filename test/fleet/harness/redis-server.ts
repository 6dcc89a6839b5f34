// A throwaway redis-server per suite: on a free loopback port, no persistence
// (`--save '' --appendonly no`), killed when the test process exits even if a
// suite forgot to stop it. Faults for the fleet tests: kill -9, restart on the
// same port, CLIENT PAUSE.
//
//   describeRedis('fleet limiter', () => {
//     let redis: RedisServer;
//     beforeAll(async () => (redis = await startRedis()));
//     afterAll(() => redis.stop());
//     ...
//   });
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { describe, it } from 'vitest';
import { connect, type RespClient } from './resp.js';

/** The redis-server binary: `$REDIS_SERVER`, or `redis-server` on the PATH. */
export const REDIS_SERVER = process.env.REDIS_SERVER ?? 'redis-server';

/** Whether redis-server can be run here. */
export const redisAvailable: boolean = (() => {
  const r = spawnSync(REDIS_SERVER, ['--version'], { encoding: 'utf8' });
  return r.status === 0 && /Redis server/.test(r.stdout);
})();

/**
 * `describe` when redis-server is installed. Otherwise the suite is skipped
 * with a printed reason — except when `CI` is set: then it fails, so CI can
 * never pass by skipping the fleet tests.
 */
export function describeRedis(name: string, fn: () => void): void {
  if (redisAvailable) {
    describe(name, fn);
  } else if (process.env.CI) {
    describe(name, () => {
      it('needs redis-server', () => {
        throw new Error(`${REDIS_SERVER} not found, and CI is set: install it (apt-get install -y redis-server)`);
      });
    });
  } else {
    console.warn(`skipping "${name}": ${REDIS_SERVER} not found (apt-get install -y redis-server); with CI set this fails`);
    describe.skip(name, fn);
  }
}

export interface RedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:PORT` */
  readonly url: string;
  /** Whether the server process is running. */
  readonly running: boolean;
  /** Stops the server (SIGTERM, then waits for it to exit). Safe to call twice. */
  stop(): Promise<void>;
  /** Kills the server with SIGKILL and waits for it to exit: every connection drops, all data is lost. */
  kill9(): Promise<void>;
  /** Starts the server again on the same port (after `kill9` or `stop`; kills it first if running) and waits for PING. */
  restart(): Promise<void>;
  /** `CLIENT PAUSE ms ALL`: the server answers no client for `ms`. Resolves once the pause has begun. */
  pause(ms: number): Promise<void>;
  /**
   * Runs one command through the harness's own connection (made again after a restart); rejects at once
   * if the server is down, and waits out a CLIENT PAUSE like any client.
   */
  command(command: string, ...args: (string | number)[]): Promise<unknown>;
}

const live = new Set<ChildProcess>();
let exitHook = false;

/** A free TCP port on 127.0.0.1 (the OS picks one; released before redis-server binds it). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Spawns redis-server on `port` and waits until it answers PING; rejects with its output if it exits first. */
async function spawnServer(port: number, extra: readonly string[]): Promise<ChildProcess> {
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => {
      for (const child of live) child.kill('SIGKILL');
    });
  }
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', '/tmp', '--loglevel', 'warning', ...extra];
  const child = spawn(REDIS_SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  child.once('exit', () => live.delete(child));
  // If this process dies without running its exit hook (SIGKILL, a killed test
  // worker), a watchdog kills the server within a second: none is left behind.
  spawn('sh', ['-c', 'while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 1; done; kill -9 "$2" 2>/dev/null', 'redis-watchdog', String(process.pid), String(child.pid)], {
    stdio: 'ignore',
    detached: true,
  }).unref();
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`redis-server on port ${port} exited: ${output.trim()}`);
    const probe = connect(port);
    try {
      if ((await probe.send('PING')) === 'PONG') return child;
    } catch {
      // Not listening yet.
    } finally {
      probe.close();
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`redis-server on port ${port} did not answer PING within 10 s: ${output.trim()}`);
    }
    await sleep(20);
  }
}

/**
 * Starts a redis-server on a free loopback port and waits until it answers.
 * `extraArgs` are appended to its command line (e.g. `['--maxmemory-policy', 'noeviction']`).
 * Call `stop()` in `afterAll`; a server left running is killed when the process exits.
 */
export async function startRedis(extraArgs: readonly string[] = []): Promise<RedisServer> {
  let port = 0;
  let child: ChildProcess | undefined;
  // Another process may take the free port before redis-server binds it: try a few.
  for (let attempt = 0; !child; attempt++) {
    port = await freePort();
    try {
      child = await spawnServer(port, extraArgs);
    } catch (error) {
      if (attempt >= 4) throw error;
    }
  }
  let client: RespClient | undefined;
  const dropClient = () => {
    client?.close();
    client = undefined;
  };
  // A client that fails fast while the server is down and connects again on the next command.
  const command = (name: string, ...args: (string | number)[]): Promise<unknown> => (client ??= connect(port)).send(name, args);
  const halt = async (signal: NodeJS.Signals): Promise<void> => {
    dropClient();
    const c = child;
    child = undefined;
    if (!c) return;
    c.kill(signal);
    await exited(c);
  };
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
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
          child = await spawnServer(port, extraArgs);
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
