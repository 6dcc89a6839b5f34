// A very small Redis client (RESP2 over node:net) so that `npm run demo:fleet`
// runs after a plain `npm ci`: breakwater has no Redis client dependency, and
// `createRedisStore` needs only a `send(command, args)` function. In your own
// service use ioredis, node-redis or Bun's client (see examples/redis/).
//
// Commands are pipelined (written at once, replies matched in order). Replies:
// strings as strings, integers as numbers, nil as null, arrays as arrays; an
// error reply rejects with an Error carrying the server's text ('NOSCRIPT …').
// No reconnection: when the connection drops, pending and later commands fail.
import { connect, type Socket } from 'node:net';

/** One connection to a Redis server. */
export interface RespConnection {
  /** Runs one command: the shape `createRedisStore`'s `send` option takes. */
  send(command: string, args?: readonly (string | number)[]): Promise<unknown>;
  /** Closes the connection; commands still pending reject. */
  close(): void;
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

const CRLF = 0x0d;

/** Thrown for an error reply (`-ERR …`, `-NOSCRIPT …`). */
export class RedisReplyError extends Error {
  override name = 'RedisReplyError';
}

/** `*N`, then `$len` + bytes per part. */
function frame(command: string, args: readonly (string | number)[]): string {
  let out = `*${args.length + 1}\r\n`;
  for (const part of [command, ...args]) {
    const s = String(part);
    out += `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
  }
  return out;
}

/** A parsed value and where the next one starts, or undefined while the buffer holds only part of it. */
type Parsed = { value: unknown; end: number } | undefined;

function parse(buf: Buffer, at: number): Parsed {
  const eol = buf.indexOf(CRLF, at);
  if (eol < 0 || eol + 1 >= buf.length) return undefined;
  const type = String.fromCharCode(buf[at]!);
  const line = buf.toString('utf8', at + 1, eol);
  const next = eol + 2;
  switch (type) {
    case '+':
      return { value: line, end: next };
    case '-':
      return { value: new RedisReplyError(line), end: next };
    case ':':
      return { value: Number(line), end: next };
    case '$': {
      const len = Number(line);
      if (len < 0) return { value: null, end: next };
      if (buf.length < next + len + 2) return undefined;
      return { value: buf.toString('utf8', next, next + len), end: next + len + 2 };
    }
    case '*': {
      const count = Number(line);
      if (count < 0) return { value: null, end: next };
      const items: unknown[] = [];
      let end = next;
      for (let i = 0; i < count; i++) {
        const item = parse(buf, end);
        if (!item) return undefined;
        items.push(item.value);
        end = item.end;
      }
      return { value: items, end };
    }
    default:
      throw new Error(`unexpected RESP type ${JSON.stringify(type)}`);
  }
}

/** Connects to `host:port` (the connection is made in the background; commands sent meanwhile are queued by the socket). */
export function connectResp(port: number, host = '127.0.0.1'): RespConnection {
  const socket: Socket = connect({ port, host, noDelay: true });
  const pending: Pending[] = [];
  let buffer: Buffer = Buffer.alloc(0);
  let failure: Error | undefined;

  const fail = (error: Error): void => {
    failure ??= error;
    for (const p of pending.splice(0)) p.reject(failure);
  };
  socket.on('data', (chunk: Buffer) => {
    buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
    let at = 0;
    for (;;) {
      let parsed: Parsed;
      try {
        parsed = parse(buffer, at);
      } catch (error) {
        socket.destroy();
        return fail(error as Error);
      }
      if (!parsed) break;
      at = parsed.end;
      const p = pending.shift();
      if (parsed.value instanceof RedisReplyError) p?.reject(parsed.value);
      else p?.resolve(parsed.value);
    }
    buffer = buffer.subarray(at);
  });
  socket.on('error', (error) => fail(error));
  socket.on('close', () => fail(new Error('connection closed')));

  return {
    send(command, args = []) {
      if (failure) return Promise.reject(failure);
      return new Promise((resolve, reject) => {
        pending.push({ resolve, reject });
        socket.write(frame(command, args));
      });
    },
    close() {
      fail(new Error('connection closed'));
      socket.destroy();
    },
  };
}
