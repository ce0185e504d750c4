/** Redis isolation for tests: a unique BullMQ prefix per test file, removed afterwards. */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

export const SHARED_REDIS_URL = 'redis://127.0.0.1:6379';

export function uniquePrefix(): string {
  return `{sbtest-${randomBytes(5).toString('hex')}}`;
}

/** Deletes every key under `prefix` (SCAN, never KEYS on a shared server). */
export async function deletePrefix(prefix: string, url = SHARED_REDIS_URL): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
