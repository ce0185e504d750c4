/**
 * Role `all` with no REDIS_URL: use the Redis on 127.0.0.1:6379 when one answers; otherwise start a
 * private `redis-server` as a child process with data under DATA_DIR/redis, AOF on (a "200" survives a
 * restart) and `noeviction` (jobs are never evicted), and stop it when Switchboard exits.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join, resolve } from 'node:path';

export const SHARED_REDIS_PORT = 6379;
export const EMBEDDED_REDIS_PORT = 6479;

/** Sends PING over a raw socket; true when a Redis answers within the timeout. */
export function isRedisAnswering(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((done) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    const finish = (answer: boolean) => {
      socket.destroy();
      done(answer);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('error', () => finish(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => finish(data.toString().startsWith('+PONG')));
  });
}

export function hasRedisServer(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

export interface EmbeddedRedis {
  url: string;
  /** The child we started, if any (none when an existing Redis was reused). */
  child: ChildProcess | null;
}

export class RedisNotFoundError extends Error {
  constructor() {
    super(
      'No Redis answers on 127.0.0.1:6379 and redis-server is not installed. Install Redis ' +
        '(Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) or set REDIS_URL.',
    );
    this.name = 'RedisNotFoundError';
  }
}

export async function provideRedis(
  dataDir: string,
  ports: { shared: number; embedded: number } = { shared: SHARED_REDIS_PORT, embedded: EMBEDDED_REDIS_PORT },
): Promise<EmbeddedRedis> {
  if (await isRedisAnswering(ports.shared)) return { url: `redis://127.0.0.1:${ports.shared}`, child: null };
  const url = `redis://127.0.0.1:${ports.embedded}`;
  // A private Redis left running by an earlier run that was killed: reuse it (same data directory).
  if (await isRedisAnswering(ports.embedded)) return { url, child: null };
  if (!hasRedisServer()) throw new RedisNotFoundError();
  const dir = resolve(join(dataDir, 'redis'));
  mkdirSync(dir, { recursive: true });
  const child = spawn(
    'redis-server',
    [
      '--port', String(ports.embedded),
      '--bind', '127.0.0.1',
      '--dir', dir,
      '--appendonly', 'yes',
      '--appendfsync', 'everysec',
      '--save', '',
      '--maxmemory-policy', 'noeviction',
    ],
    { stdio: 'ignore' },
  );
  for (let i = 0; i < 50; i += 1) {
    if (await isRedisAnswering(ports.embedded, 200)) return { url, child };
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGTERM');
  throw new Error(`The private redis-server did not start on port ${ports.embedded} (data: ${dir})`);
}
