// One store per Redis client. `createRedisStore` takes your client through a
// single function, send(command, args) — these are the whole adapters.
import { createRedisStore, type Store } from 'breakwater';
import { Redis } from 'ioredis';
import { createClient } from 'redis';

export interface Connected {
  readonly store: Store;
  /** Closes the client's connection. */
  close(): Promise<void>;
}

/** ioredis 6. `timeout`: the store's (ms; default 50). */
export async function withIoredis(url: string, timeout?: number): Promise<Connected> {
  // Connected before the service takes calls, so its first commands do not wait for the handshake
  // (a store command slower than the store's timeout counts as a store failure).
  const redis = new Redis(url, { lazyConnect: true });
  redis.on('error', () => {}); // it reconnects by itself; the store copes with an absent Redis by itself
  await redis.connect();
  const store = createRedisStore({ send: (command, args) => redis.call(command, ...args), timeout });
  return { store, close: async () => void (await redis.quit()) };
}

/** node-redis 6 (the `redis` package). `timeout`: the store's (ms; default 50). */
export async function withNodeRedis(url: string, timeout?: number): Promise<Connected> {
  // Unheard, a connection 'error' event would end the process; the store copes with an absent Redis by itself.
  const client = await createClient({ url }).on('error', () => {}).connect();
  const store = createRedisStore({ send: (command, args) => client.sendCommand([command, ...args]), timeout });
  return { store, close: async () => void (await client.close()) };
}

export const CLIENTS = { ioredis: withIoredis, 'node-redis': withNodeRedis } as const;
export type ClientName = keyof typeof CLIENTS;
