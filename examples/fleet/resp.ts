// A very small Redis client (RESP2 over node:net) for the demo, the examples'
// checks, the fleet tests and the fleet bench: breakwater has no Redis client
// dependency, and `createRedisStore` needs only a `send(command, args)`
// function. In your own service use ioredis, node-redis or Bun's client (see
// examples/redis/).
//
// Commands are pipelined: each is written at once and replies are matched in
// order. Replies: simple and bulk strings as strings, integers as numbers, nil
// as null, arrays as arrays (an error inside an array as an Error); an error
// reply rejects with an Error whose message is the server's text
// ('NOSCRIPT No matching script…').
//
// With `offlineQueue` (like ioredis' defaults) the client never fails a command
// because the server is away: commands sent while disconnected, and those in
// flight when the connection dropped, wait and are (re)sent once it reconnects,
// so a dead server makes calls hang — what a store's timeout must bound.
// Without it a command fails at once when the connection cannot be made or
// drops, and the next command connects again.
import { connect as netConnect, type Socket } from 'node:net';

/** One client of a Redis server. */
export interface RespClient {
  /** Runs one command: the shape `createRedisStore`'s `send` option takes. */
  readonly send: (command: string, args?: readonly (string | number)[]) => Promise<unknown>;
  /** Whether the socket is connected now. */
  readonly connected: boolean;
  /** Commands written, since the client was made (resent ones count again). */
  readonly written: number;
  /** Closes the socket and stops reconnecting; pending commands reject with 'Connection is closed.'. */
  close(): void;
}

export interface RespOptions {
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** Queue commands while disconnected and reconnect forever, like ioredis. @default false */
  readonly offlineQueue?: boolean;
  /** ms between reconnection attempts with `offlineQueue`. @default 50 */
  readonly reconnectDelay?: number;
}

interface Pending {
  readonly frame: string;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
}

/** A RESP2 frame: `*N\r\n` then `$len\r\narg\r\n` per part. */
export function encode(command: string, args: readonly (string | number)[] = []): string {
  let out = `*${args.length + 1}\r\n`;
  for (const part of [command, ...args]) {
    const s = String(part);
    out += `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
  }
  return out;
}

const INCOMPLETE = Symbol('incomplete');

/** Parses one reply at `at`: the value and where the next begins, or INCOMPLETE. Exported for its test. */
export function parse(buf: Buffer, at: number): typeof INCOMPLETE | [value: unknown, next: number] {
  const eol = buf.indexOf('\r\n', at);
  if (eol < 0) return INCOMPLETE;
  const type = String.fromCharCode(buf[at]!);
  const line = buf.toString('utf8', at + 1, eol);
  const next = eol + 2;
  switch (type) {
    case '+':
      return [line, next];
    case '-':
      return [new Error(line), next];
    case ':':
      return [Number(line), next];
    case '$': {
      const len = Number(line);
      if (len < 0) return [null, next];
      if (buf.length < next + len + 2) return INCOMPLETE;
      return [buf.toString('utf8', next, next + len), next + len + 2];
    }
    case '*': {
      const n = Number(line);
      if (n < 0) return [null, next];
      const items: unknown[] = [];
      let pos = next;
      for (let i = 0; i < n; i++) {
        const r = parse(buf, pos);
        if (r === INCOMPLETE) return INCOMPLETE;
        items.push(r[0]);
        pos = r[1];
      }
      return [items, pos];
    }
    default:
      throw new Error(`resp: unexpected reply type ${JSON.stringify(type)}`);
  }
}

/** A client of the server on `port`. It connects at once (and with `offlineQueue`, again whenever it is cut off). */
export function connect(port: number, options: RespOptions = {}): RespClient {
  const host = options.host ?? '127.0.0.1';
  const queueing = options.offlineQueue ?? false;
  const delay = options.reconnectDelay ?? 50;
  let socket: Socket | undefined;
  let isConnected = false;
  let closed = false;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let buffer: Buffer = Buffer.alloc(0);
  let written = 0;
  /** Written, waiting for their replies, in order. */
  let inFlight: Pending[] = [];
  /** Not yet written: the socket is connecting, or (offlineQueue) away. */
  let waiting: Pending[] = [];

  const failAll = (error: Error): void => {
    const all = [...inFlight, ...waiting];
    inFlight = [];
    waiting = [];
    for (const p of all) p.reject(error);
  };

  const write = (p: Pending): void => {
    inFlight.push(p);
    written++;
    socket!.write(p.frame);
  };

  const onData = (s: Socket, chunk: Buffer): void => {
    buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
    let at = 0;
    while (at < buffer.length) {
      let r: ReturnType<typeof parse>;
      try {
        r = parse(buffer, at);
      } catch (error) {
        // Not RESP: what is in flight can never be matched to its reply.
        for (const p of inFlight.splice(0)) p.reject(error as Error);
        buffer = Buffer.alloc(0);
        s.destroy();
        return;
      }
      if (r === INCOMPLETE) break;
      at = r[1];
      const p = inFlight.shift();
      if (!p) continue;
      if (r[0] instanceof Error) p.reject(r[0]);
      else p.resolve(r[0]);
    }
    buffer = at >= buffer.length ? Buffer.alloc(0) : buffer.subarray(at);
  };

  const open = (): void => {
    if (closed || socket) return;
    buffer = Buffer.alloc(0);
    const s = netConnect({ port, host });
    socket = s;
    s.setNoDelay(true);
    s.on('connect', () => {
      isConnected = true;
      const queued = waiting;
      waiting = [];
      for (const p of queued) write(p);
    });
    s.on('data', (chunk: Buffer) => onData(s, chunk));
    s.on('error', () => {
      // 'close' follows and decides; this listener only keeps the error from being thrown.
    });
    s.on('close', () => {
      isConnected = false;
      socket = undefined;
      if (closed) return;
      if (queueing) {
        // Like ioredis' autoResendUnfulfilledCommands: what was in flight is sent again.
        waiting = [...inFlight, ...waiting];
        inFlight = [];
        retry = setTimeout(() => {
          retry = undefined;
          open();
        }, delay);
        retry.unref();
      } else {
        failAll(new Error('Connection is closed.'));
      }
    });
  };

  const send = (command: string, args: readonly (string | number)[] = []): Promise<unknown> =>
    new Promise((resolve, reject) => {
      if (closed) return reject(new Error('Connection is closed.'));
      const p: Pending = { frame: encode(command, args), resolve, reject };
      if (isConnected) return write(p);
      waiting.push(p);
      if (!socket && !retry) open();
    });

  open();
  return {
    send,
    get connected() {
      return isConnected;
    },
    get written() {
      return written;
    },
    close() {
      if (closed) return;
      closed = true;
      if (retry) clearTimeout(retry);
      retry = undefined;
      socket?.destroy();
      socket = undefined;
      isConnected = false;
      failAll(new Error('Connection is closed.'));
    },
  };
}
