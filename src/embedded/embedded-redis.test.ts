import { mkdtempSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../test/support/private-redis.js';
import { isRedisAnswering, provideRedis } from './embedded-redis.js';

const dataDir = mkdtempSync(join(tmpdir(), 'sb-embedded-redis-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('provideRedis', () => {
  it('uses the shared Redis when it answers', async () => {
    const redis = await provideRedis(dataDir, { shared: 6379, embedded: await freePort() });
    expect(redis).toEqual({ url: 'redis://127.0.0.1:6379', child: null });
  });

  it('starts a private redis-server (AOF, noeviction, data under DATA_DIR/redis) when nothing answers, and reuses it', async () => {
    const ports = { shared: await freePort(), embedded: await freePort() };
    const started = await provideRedis(dataDir, ports);
    try {
      expect(started.url).toBe(`redis://127.0.0.1:${ports.embedded}`);
      expect(started.child).not.toBeNull();
      const client = new Redis(started.url);
      try {
        expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
        expect(await client.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
        expect(await client.config('GET', 'dir')).toEqual(['dir', join(dataDir, 'redis')]);
      } finally {
        client.disconnect();
      }
      // A later start finds the private server still running and reuses it instead of starting another.
      expect(await provideRedis(dataDir, ports)).toEqual({ url: started.url, child: null });
    } finally {
      const exited = new Promise((resolve) => started.child?.once('exit', resolve));
      started.child?.kill('SIGTERM');
      await exited;
    }
    expect(await isRedisAnswering(ports.embedded)).toBe(false);
    expect(existsSync(join(dataDir, 'redis'))).toBe(true);
  });
});
