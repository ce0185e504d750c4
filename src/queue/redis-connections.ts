/**
 * The two Redis connection policies. Only this folder opens Redis connections for jobs.
 *
 * - producer (API, scheduler): fails fast. No offline queue, one retry, a command timeout: when Redis is
 *   down or hung, a command errors within milliseconds so the webhook can answer 503 instead of holding
 *   the gateway's request. It keeps reconnecting in the background.
 * - worker: waits forever (`maxRetriesPerRequest: null`), as BullMQ requires for blocking commands;
 *   a worker simply pauses while Redis is away and resumes when it returns.
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../lib/logger.js';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

const reconnectQuickly = (times: number) => Math.min(100 * times, 1000);

export function producerConnectionOptions(commandTimeoutMs: number): RedisOptions {
  return {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: commandTimeoutMs,
    connectTimeout: 1000,
    // No auto-pipelining: the hot path already sends one script call per event-loop turn
    // (`JobQueues.enqueueBatch`), and wrapping that call in a pipeline of one only costs CPU.
    retryStrategy: reconnectQuickly,
  };
}

export function workerConnectionOptions(): RedisOptions {
  return {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    connectTimeout: 5000,
    retryStrategy: reconnectQuickly,
  };
}

/** Logs connection errors at most once per state change, so a Redis outage is one line, not thousands. */
export function watchConnection(connection: Redis, log: Logger, name: string): void {
  let isDown = false;
  connection.on('error', (error: Error) => {
    if (isDown) return;
    isDown = true;
    log.error({ connection: name, err: { message: error.message } }, 'Redis connection lost; retrying');
  });
  connection.on('ready', () => {
    if (isDown) log.info({ connection: name }, 'Redis connection restored');
    isDown = false;
  });
}

export function createProducerConnection(url: string, commandTimeoutMs: number, log: Logger): Redis {
  const connection = new Redis(url, producerConnectionOptions(commandTimeoutMs));
  watchConnection(connection, log, 'producer');
  return connection;
}

export function createWorkerConnection(url: string, log: Logger): Redis {
  const connection = new Redis(url, workerConnectionOptions());
  watchConnection(connection, log, 'worker');
  return connection;
}
