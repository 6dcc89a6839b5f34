// One instance of the service, in its own process:
//
//   REDIS_URL=redis://127.0.0.1:6379 UPSTREAM_URL=http://127.0.0.1:8080 tsx instance.ts ioredis|node-redis
//
// CONFIG (JSON, a ServiceConfig) overrides the defaults below; STORE_TIMEOUT
// (ms) the store's timeout (default 50). Prints one JSON
// line, {"ready": URL}, once it listens; on SIGTERM it closes its server and
// its Redis connection and exits by itself (nothing of breakwater's keeps the
// process alive).
import { CLIENTS, type ClientName } from './clients.js';
import { startService, type ServiceConfig } from './service.js';

const name = process.argv[2] as ClientName;
if (!(name in CLIENTS)) throw new Error(`usage: tsx instance.ts ${Object.keys(CLIENTS).join('|')}`);
const config: ServiceConfig = {
  limit: 100,
  interval: 1_000,
  failureThreshold: 5,
  openDuration: 5_000,
  syncInterval: 1_000,
  key: 'example',
  ...(JSON.parse(process.env.CONFIG ?? '{}') as Partial<ServiceConfig>),
};
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const upstream = process.env.UPSTREAM_URL ?? 'http://127.0.0.1:8080';

const storeTimeout = process.env.STORE_TIMEOUT ? Number(process.env.STORE_TIMEOUT) : undefined;
const client = await CLIENTS[name](redisUrl, storeTimeout);
const service = await startService(name, client.store, upstream, config);
console.log(JSON.stringify({ ready: service.url }));

process.once('SIGTERM', () => {
  void service.close().then(() => client.close());
});
