/**
 * The consumer side: one BullMQ worker per queue this process consumes. Each hands its jobs to a
 * single processor (the jobs layer's dispatcher) as a `QueueJob`, so no code outside this folder
 * touches BullMQ's types.
 *
 * Stalled-job recovery is what makes a `SIGKILL` harmless: the killed worker stops renewing its job
 * locks, and after `lockDuration` another worker's stalled check moves the job back to waiting.
 */
import { DelayedError, Worker, type Job } from 'bullmq';
import type { Logger } from '../lib/logger.js';
import type { QueueName } from './queue-names.js';
import { workerConnectionOptions } from './redis-connections.js';

export interface QueueJob {
  id: string;
  name: string;
  queue: QueueName;
  data: unknown;
  /** Failed attempts before this one. */
  attemptsMade: number;
  /** Times the job was started, including re-runs after its worker died (stalls). */
  attemptsStarted: number;
  maxAttempts: number;
  timestamp: number;
  updateProgress(progress: number | object): Promise<void>;
  /**
   * Puts the job back to wait until `untilEpochMs` without using an attempt (a rate limit, a paused
   * broadcast), then ends this run: it always throws, and the dispatcher lets that error through.
   */
  postpone(untilEpochMs: number): Promise<never>;
}

/** Whether a processor's error is `postpone`'s (not a failure: the job is delayed, not failed). */
export function isPostponed(error: unknown): boolean {
  return error instanceof DelayedError;
}

export type JobProcessor = (job: QueueJob) => Promise<unknown>;

export interface JobWorkersOptions {
  redisUrl: string;
  prefix: string;
  queues: QueueName[];
  concurrency: Record<QueueName, number>;
  lockDurationMs: number;
  stalledIntervalMs: number;
  log: Logger;
}

export class JobWorkers {
  private readonly workers: Worker[];

  constructor(options: JobWorkersOptions, processor: JobProcessor) {
    this.workers = options.queues.map((queue) => {
      const worker = new Worker(
        queue,
        (job: Job<unknown, unknown, string>, token?: string) => processor(toQueueJob(queue, job, token)),
        {
          connection: { ...workerConnectionOptions(), url: options.redisUrl },
          prefix: options.prefix,
          concurrency: options.concurrency[queue],
          lockDuration: options.lockDurationMs,
          stalledInterval: options.stalledIntervalMs,
          // A job whose worker died under it three times (BullMQ fails it when the stall count
          // exceeds this) is more likely the cause than the victim.
          maxStalledCount: 2,
          autorun: true,
        },
      );
      let isDown = false;
      worker.on('error', (error) => {
        if (isDown) return;
        isDown = true;
        options.log.error({ queue, err: { message: error.message } }, 'Worker error; retrying');
      });
      worker.on('ready', () => {
        isDown = false;
      });
      worker.on('stalled', (jobId) => options.log.warn({ queue, jobId }, 'Job stalled (its worker stopped); it will run again'));
      return worker;
    });
  }

  async waitUntilReady(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.waitUntilReady()));
  }

  /** Stops taking jobs and waits for the in-flight ones to finish. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
  }
}

function toQueueJob(queue: QueueName, job: Job<unknown, unknown, string>, token: string | undefined): QueueJob {
  return {
    id: job.id ?? '',
    name: job.name,
    queue,
    data: job.data,
    attemptsMade: job.attemptsMade,
    attemptsStarted: job.attemptsStarted,
    maxAttempts: job.opts.attempts ?? 1,
    timestamp: job.timestamp,
    updateProgress: (progress) => job.updateProgress(progress),
    postpone: async (untilEpochMs) => {
      await job.moveToDelayed(untilEpochMs, token);
      throw new DelayedError(`Postponed until ${new Date(untilEpochMs).toISOString()}`);
    },
  };
}
