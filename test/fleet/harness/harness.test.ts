// The harness itself: a server that starts, pauses, dies and comes back on its
// port, and a RESP client that parses every reply type and queues while offline.
import { createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeRedis, startRedis, type RedisServer } from './redis-server.js';
import { connect, encode, parse } from '../../../examples/fleet/resp.js';

describe('resp', () => {
  it('encodes a command as an array of bulk strings', () => {
    expect(encode('SET', ['k', 'é', 1])).toBe('*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\né\r\n$1\r\n1\r\n');
  });

  it('parses each reply type, and says when a reply is incomplete', () => {
    const all = Buffer.from('+OK\r\n-NOSCRIPT No matching script\r\n:42\r\n$3\r\nabc\r\n$-1\r\n*3\r\n:1\r\n$-1\r\n*1\r\n+x\r\n*-1\r\n');
    const values: unknown[] = [];
    for (let at = 0; at < all.length; ) {
      const r = parse(all, at);
      if (typeof r === 'symbol') throw new Error('incomplete');
      values.push(r[0]);
      at = r[1];
    }
    expect(values).toEqual(['OK', new Error('NOSCRIPT No matching script'), 42, 'abc', null, [1, null, ['x']], null]);
    expect(typeof parse(Buffer.from('$3\r\nab'), 0)).toBe('symbol');
    expect(typeof parse(Buffer.from('*2\r\n:1\r\n'), 0)).toBe('symbol');
  });
});

describe('resp client', () => {
  it('fails what is in flight when the server answers with something that is not RESP, and throws nothing', async () => {
    const server = createServer((socket) => socket.on('data', () => socket.write('?what\r\n')));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const c = connect((server.address() as AddressInfo).port);
    try {
      await expect(c.send('PING')).rejects.toThrow('resp: unexpected reply type "?"');
      // The connection is dropped; the next command connects again (and meets the same answer).
      while (c.connected) await new Promise((r) => setTimeout(r, 5));
      await expect(c.send('PING')).rejects.toThrow('resp: unexpected reply type "?"');
    } finally {
      c.close();
      server.close();
    }
  });
});

describeRedis('redis-server harness', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(() => redis.stop());

  it('starts a server that answers on its loopback port, without persistence', async () => {
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
    expect(await redis.command('PING')).toBe('PONG');
    expect(await redis.command('CONFIG', 'GET', 'save')).toEqual(['save', '']);
    expect(await redis.command('CONFIG', 'GET', 'appendonly')).toEqual(['appendonly', 'no']);
  });

  it('pipelines commands and rejects with the server error text', async () => {
    const c = connect(redis.port);
    try {
      const replies = await Promise.all([c.send('SET', ['a', '1']), c.send('INCR', ['a']), c.send('GET', ['a']), c.send('GET', ['missing'])]);
      expect(replies).toEqual(['OK', 2, '2', null]);
      await expect(c.send('EVALSHA', ['0000000000000000000000000000000000000000', '0'])).rejects.toThrow(/^NOSCRIPT/);
    } finally {
      c.close();
    }
  });

  it('CLIENT PAUSE holds every client for its duration', async () => {
    const c = connect(redis.port);
    try {
      await c.send('PING');
      await redis.pause(300);
      const started = performance.now();
      await c.send('SET', ['p', '1']);
      expect(performance.now() - started).toBeGreaterThan(200);
    } finally {
      c.close();
    }
  });

  it('kill9 drops every connection and loses the data; restart comes back on the same port', async () => {
    await redis.command('SET', 'k', 'v');
    const failing = connect(redis.port);
    const queueing = connect(redis.port, { offlineQueue: true });
    try {
      await Promise.all([failing.send('PING'), queueing.send('PING')]);
      const port = redis.port;
      await redis.kill9();
      expect(redis.running).toBe(false);
      await expect(redis.command('PING')).rejects.toThrow('Connection is closed.');
      await expect(failing.send('PING')).rejects.toThrow('Connection is closed.');
      // The queueing client holds its command until the server is back.
      let answered = false;
      const held = queueing.send('GET', ['k']).then((v) => ((answered = true), v));
      await new Promise((r) => setTimeout(r, 200));
      expect(answered).toBe(false);
      await redis.restart();
      expect(redis.port).toBe(port);
      expect(await held).toBeNull();
      expect(await redis.command('PING')).toBe('PONG');
      expect(await failing.send('PING')).toBe('PONG');
    } finally {
      failing.close();
      queueing.close();
    }
  });

  it('a closed client rejects what was pending', async () => {
    const c = connect(redis.port, { offlineQueue: true });
    await redis.pause(200);
    const pending = c.send('PING');
    c.close();
    await expect(pending).rejects.toThrow('Connection is closed.');
  });
});
