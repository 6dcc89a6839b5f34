// The fleet tests' redis-server: the examples' throwaway server
// (examples/fleet/redis-server.ts: a free loopback port, no persistence,
// killed with this process; kill -9, restart on the same port, CLIENT PAUSE),
// plus what only tests need: suites that skip without redis-server, and fail
// without it under CI.
//
//   describeRedis('fleet limiter', () => {
//     let redis: RedisServer;
//     beforeAll(async () => (redis = await startRedis()));
//     afterAll(() => redis.stop());
//     ...
//   });
import { describe, it } from 'vitest';
import { REDIS_SERVER, redisServerVersion, type LocalRedis as RedisServer } from '../../../examples/fleet/redis-server.js';

export { REDIS_SERVER, startRedisServer as startRedis, type LocalRedis as RedisServer } from '../../../examples/fleet/redis-server.js';

/** Whether redis-server can be run here. */
export const redisAvailable: boolean = redisServerVersion() !== undefined;

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

/** Every key on the server (SCAN), with its PTTL. */
export async function allKeys(redis: RedisServer): Promise<Map<string, number>> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = (await redis.command('SCAN', cursor, 'COUNT', 1000)) as [string, string[]];
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  const ttls = await Promise.all(keys.map((key) => redis.command('PTTL', key) as Promise<number>));
  return new Map(keys.map((key, i) => [key, ttls[i]!]));
}
