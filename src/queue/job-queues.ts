/**
 * The producer side of the job queues: the one way to enqueue (DESIGN.md rule 3).
 *
 * `enqueueBatch` adds a whole webhook batch atomically and tells, per job, whether it was new or
 * already there (the job id is the dedupe marker): `EnqueueBatcher` sends every batch of one turn of
 * the event loop as one call of the enqueue script. The rest is what operators ask of the queues
 * (counts, failed jobs, retries, retention clean-up) through BullMQ's own API.
 */
import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../lib/logger.js';
import { JOB_CATALOG, type JobName, type JobPayloads } from './job-catalog.js';
import { QUEUE_NAMES, type QueueName } from './queue-names.js';
import { snapshotOf, type JobSnapshot, type JobState, type QueueOverview } from './job-snapshot.js';
import { EnqueueBatcher, EnqueueError, type EnqueueItem, type EnqueueResult } from './enqueue-batcher.js';
import { createProducerConnection } from './redis-connections.js';

export type { JobSnapshot, JobState, QueueOverview } from './job-snapshot.js';
export { EnqueueError, type EnqueueItem, type EnqueueResult } from './enqueue-batcher.js';

export interface JobQueuesOptions {
  redisUrl: string;
  prefix: string;
  commandTimeoutMs: number;
  attempts: number;
  backoffMs: number;
  dedupeWindowSeconds: number;
  log: Logger;
}

export interface QueueHealth {
  isReady: boolean;
  reason?: string;
}

export class JobQueues {
  readonly connection: Redis;
  private readonly queues: Map<QueueName, Queue>;
  private readonly batcher: EnqueueBatcher;

  constructor(private readonly options: JobQueuesOptions) {
    this.connection = createProducerConnection(options.redisUrl, options.commandTimeoutMs, options.log);
    this.batcher = new EnqueueBatcher(this.connection, {
      prefix: options.prefix,
      optionsWithoutId: (name, delayMs, keepCompletedSeconds) => this.optionsWithoutId(name, delayMs, keepCompletedSeconds),
    });
    this.queues = new Map(
      QUEUE_NAMES.map((name) => {
        // skipVersionCheck: otherwise BullMQ's one-time initialisation sends INFO on this connection,
        // under its command timeout; if that single INFO times out (a busy event loop or a slow Redis
        // right after start-up), the queue's `client` promise stays rejected for the life of the
        // process: every enqueue fails ("Command timed out", webhooks answer 503 forever) while the
        // connection and /ready look healthy. Without INFO, initialisation only waits for "ready".
        const queue = new Queue(name, { connection: this.connection, prefix: options.prefix, skipVersionCheck: true });
        // A Redis outage surfaces here too; the connection watcher already logged it once.
        queue.on('error', () => undefined);
        return [name, queue];
      }),
    );
  }

  /**
   * Waits up to `timeoutMs` for the first connection. Start-up uses it so the first webhooks do not
   * meet a connection still being opened; when Redis is down the API starts anyway and answers 503.
   */
  async waitUntilConnected(timeoutMs: number): Promise<boolean> {
    if (this.connection.status === 'ready') return true;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.connection.off('ready', onReady);
        resolve(false);
      }, timeoutMs);
      timer.unref();
      const onReady = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.connection.once('ready', onReady);
    });
  }

  queue(name: QueueName): Queue {
    const queue = this.queues.get(name);
    if (!queue) throw new Error(`Unknown queue ${name}`);
    return queue;
  }

  jobOptions(name: JobName, jobId: string, delayMs?: number, keepCompletedSeconds?: number): JobsOptions {
    return { jobId, ...this.optionsWithoutId(name, delayMs, keepCompletedSeconds) };
  }

  private optionsWithoutId(name: JobName, delayMs?: number, keepCompletedSeconds?: number): Omit<JobsOptions, 'jobId'> {
    const spec = JOB_CATALOG[name];
    return {
      ...(delayMs ? { delay: delayMs } : {}),
      attempts: this.options.attempts,
      backoff: { type: 'exponential', delay: this.options.backoffMs, jitter: 0.5 },
      removeOnComplete: spec.keepCompletedForDedupeWindow ? { age: this.options.dedupeWindowSeconds } : { age: 3600, count: 10_000 },
      // Failed jobs stay until an operator retries or removes them (DESIGN.md rule 5).
      removeOnFail: false,
      ...(keepCompletedSeconds ? { removeOnComplete: { age: keepCompletedSeconds } } : {}),
    };
  }

  async enqueue<N extends JobName>(name: N, payload: JobPayloads[N], jobId: string, delayMs?: number): Promise<EnqueueResult> {
    const [result] = await this.enqueueBatch([{ name, payload, jobId, ...(delayMs ? { delayMs } : {}) } as EnqueueItem]);
    if (!result) throw new EnqueueError('Enqueue returned no result');
    return result;
  }

  /**
   * Adds every job of the batch or none; tells which ones already existed. Batches handed over in
   * the same turn of the event loop share one Redis call (`EnqueueBatcher`). A failed call fails them
   * all: out of memory, Redis wrote nothing; after a timeout it may have, and the gateway's retry of
   * the 503 is a duplicate that the job id absorbs.
   */
  enqueueBatch(items: ReadonlyArray<EnqueueItem>): Promise<EnqueueResult[]> {
    return this.batcher.enqueueBatch(items);
  }

  /** Ready = Redis answers and will never evict job data (`maxmemory-policy noeviction`). */
  async health(): Promise<QueueHealth> {
    try {
      const reply = (await this.connection.config('GET', 'maxmemory-policy')) as string[];
      const policy = reply[1];
      if (policy !== 'noeviction') {
        return { isReady: false, reason: `Redis maxmemory-policy is "${policy ?? 'unknown'}"; it must be "noeviction" or jobs can be silently evicted` };
      }
      return { isReady: true };
    } catch (error) {
      return { isReady: false, reason: `Redis unreachable: ${(error as Error).message}` };
    }
  }

  /** Removes the waiting and delayed jobs of `queue` whose id starts with `idPrefix`; returns how many. */
  async removeWaitingJobs(name: QueueName, idPrefix: string): Promise<number> {
    const jobs = await this.queue(name).getJobs(['waiting', 'delayed', 'prioritized', 'paused']);
    let removed = 0;
    for (const job of jobs) {
      if (job.id?.startsWith(idPrefix)) {
        await job.remove();
        removed += 1;
      }
    }
    return removed;
  }

  /**
   * Removes completed and failed job records that finished more than `olderThanMs` ago, in every queue.
   * Failed jobs normally stay until an operator retries or removes them (DESIGN.md rule 5); the
   * retention horizon (RETENTION_DAYS) is how long an operator has to act. A job id is also the
   * dedupe marker of its event, so nothing younger than the dedupe window goes, whatever `olderThanMs`.
   */
  async cleanFinished(olderThanMs: number): Promise<Record<QueueName, { completed: number; failed: number }>> {
    const graceMs = Math.max(olderThanMs, this.options.dedupeWindowSeconds * 1000);
    // Small batches: each is one Lua script, and Redis serves nothing else while it runs.
    const batch = 1000;
    const cleanAll = async (queue: Queue, type: 'completed' | 'failed'): Promise<number> => {
      let removed = 0;
      for (;;) {
        const ids = await queue.clean(graceMs, batch, type);
        removed += ids.length;
        if (ids.length < batch) return removed;
      }
    };
    const counts = {} as Record<QueueName, { completed: number; failed: number }>;
    for (const name of QUEUE_NAMES) {
      const queue = this.queue(name);
      counts[name] = { completed: await cleanAll(queue, 'completed'), failed: await cleanAll(queue, 'failed') };
    }
    return counts;
  }

  /** Counts per state and the age of the oldest waiting job, for every queue. */
  async overview(now = Date.now()): Promise<QueueOverview[]> {
    return Promise.all(
      QUEUE_NAMES.map(async (name) => {
        const queue = this.queue(name);
        const [counts, oldest, isPaused] = await Promise.all([
          this.getJobCounts(name),
          queue.getJobs(['wait'], 0, 0, true),
          queue.isPaused(),
        ]);
        const oldestTimestamp = oldest[0]?.timestamp;
        return { name, counts, isPaused, oldestWaitingAgeMs: oldestTimestamp === undefined ? null : Math.max(0, now - oldestTimestamp) };
      }),
    );
  }

  /** Failed jobs of a queue, newest first. */
  async listFailed(name: QueueName, offset: number, limit: number): Promise<{ items: JobSnapshot[]; total: number }> {
    const queue = this.queue(name);
    const [jobs, total] = await Promise.all([queue.getJobs(['failed'], offset, offset + limit - 1, false), queue.getJobCountByTypes('failed')]);
    const items = jobs.filter((job) => job.id).map((job) => snapshotOf(name, job, 'failed'));
    return { items, total };
  }

  /**
   * Moves a failed job back to waiting with a fresh set of attempts (an operator's retry is a new
   * start, not the last of the old attempts); 'not_found' or 'not_failed' otherwise. The move is one
   * script that checks the job is still failed, so of two concurrent retries one wins.
   */
  async retryFailed(name: QueueName, id: string): Promise<'retried' | 'not_found' | 'not_failed'> {
    const queue = this.queue(name);
    const state = await queue.getJobState(id);
    if (state === 'unknown') return 'not_found';
    if (state !== 'failed') return 'not_failed';
    const job = await queue.getJob(id);
    if (!job) return 'not_found';
    try {
      await job.retry('failed', { resetAttemptsMade: true });
    } catch (error) {
      const now = await queue.getJobState(id);
      if (now === 'unknown') return 'not_found';
      if (now !== 'failed') return 'not_failed';
      throw error;
    }
    return 'retried';
  }

  async getJobCounts(name: QueueName): Promise<Record<string, number>> {
    return this.queue(name).getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized', 'paused');
  }

  async getJob(name: QueueName, id: string): Promise<JobSnapshot | null> {
    const queue = this.queue(name);
    // State first: the job hash is written in the same script that moves the job, so a hash read
    // after the state is at least as new as that state (the other order can pair an old hash with
    // a newer state, e.g. "failed" without its reason).
    const state = (await queue.getJobState(id)) as JobState;
    const job = await queue.getJob(id);
    if (!job?.id) return null;
    return snapshotOf(name, job, state);
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.queues.values()].map((q) => q.close()));
    this.connection.disconnect();
  }
}
