/**
 * Coalesces enqueues: every batch handed over in one turn of the event loop (concurrent webhooks,
 * a worker's concurrent jobs) is added with one call of the enqueue script (`enqueue-script.ts`),
 * and each batch gets its own answer.
 */
import type { JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { JOB_CATALOG, type JobName, type JobPayloads } from './job-catalog.js';
import { ENQUEUE_SCRIPT, ENQUEUE_SCRIPT_SHA, enqueueScriptArguments, type ScriptJob } from './enqueue-script.js';

export interface EnqueueItem<N extends JobName = JobName> {
  name: N;
  payload: JobPayloads[N];
  jobId: string;
  /** Run no earlier than this many milliseconds from now (debounces, idle timers). */
  delayMs?: number;
  /** Keep the completed job (its id, the dedupe marker) this long instead of the catalogue's default. */
  keepCompletedSeconds?: number;
}

export interface EnqueueResult {
  jobId: string;
  isDuplicate: boolean;
}

export class EnqueueError extends Error {
  constructor(message: string, options?: { cause: unknown }) {
    super(message, options);
    this.name = 'EnqueueError';
  }
}

/** Bounds one script call (Redis serves nothing else while it runs): huge bursts take several. */
const MAX_JOBS_PER_CALL = 1000;

interface PendingBatch {
  items: ReadonlyArray<EnqueueItem>;
  resolve: (results: EnqueueResult[]) => void;
  reject: (error: unknown) => void;
}

export interface EnqueueBatcherOptions {
  /** The BullMQ key prefix (QUEUE_PREFIX). */
  prefix: string;
  /** A job's BullMQ options, except its id. */
  optionsWithoutId: (name: JobName, delayMs?: number, keepCompletedSeconds?: number) => Omit<JobsOptions, 'jobId'>;
}

export class EnqueueBatcher {
  private readonly pending: PendingBatch[] = [];
  private isFlushScheduled = false;
  /** Per job name: its default options as JSON, without the opening brace and the id. */
  private readonly defaultOptionsJson = new Map<JobName, string>();

  constructor(
    private readonly connection: Redis,
    private readonly options: EnqueueBatcherOptions,
  ) {}

  /**
   * Adds every job of the batch or none; tells which ones already existed.
   *
   * Batches arriving in the same turn of the event loop (concurrent webhooks) share one script call:
   * one command and one round trip for all of them, instead of one each. Each batch still gets its
   * own answer. A failed call fails them all: out of memory, Redis wrote nothing; after a timeout it
   * may have, and the gateway's retry of the 503 is a duplicate that the job id absorbs.
   */
  async enqueueBatch(items: ReadonlyArray<EnqueueItem>): Promise<EnqueueResult[]> {
    if (items.length === 0) return [];
    // Not connected (Redis down, or down since start): fail now rather than wait for the timeout,
    // and leave no enqueue pending to run later when Redis returns.
    if (this.connection.status !== 'ready') throw new EnqueueError(`Redis is not connected (${this.connection.status})`);
    return new Promise<EnqueueResult[]>((resolve, reject) => {
      this.pending.push({ items, resolve, reject });
      if (!this.isFlushScheduled) {
        this.isFlushScheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    this.isFlushScheduled = false;
    const batches: PendingBatch[] = [];
    let jobs = 0;
    while (this.pending.length > 0 && jobs < MAX_JOBS_PER_CALL) {
      const next = this.pending.shift();
      if (!next) break;
      batches.push(next);
      jobs += next.items.length;
    }
    if (this.pending.length > 0) {
      this.isFlushScheduled = true;
      setImmediate(() => void this.flush());
    }
    try {
      const scriptJobs: ScriptJob[] = [];
      for (const batch of batches) for (const item of batch.items) scriptJobs.push(this.scriptJob(item));
      let flags: number[];
      try {
        flags = await this.runEnqueueScript(enqueueScriptArguments(Date.now(), scriptJobs));
      } catch (error) {
        throw new EnqueueError(`Redis rejected the batch: ${(error as Error).message}`, { cause: error });
      }
      let offset = 0;
      for (const batch of batches) {
        batch.resolve(batch.items.map((item, index) => ({ jobId: item.jobId, isDuplicate: flags[offset + index] === 1 })));
        offset += batch.items.length;
      }
    } catch (error) {
      const reason = error instanceof EnqueueError ? error : new EnqueueError(`Enqueue failed: ${(error as Error).message}`, { cause: error });
      for (const batch of batches) batch.reject(reason);
    }
  }

  private scriptJob(item: EnqueueItem): ScriptJob {
    const queue = JOB_CATALOG[item.name].queue;
    return {
      queueKeyBase: `${this.options.prefix}:${queue}:`,
      jobId: item.jobId,
      name: item.name,
      data: JSON.stringify(item.payload),
      options: this.optionsJson(item),
      delayMs: item.delayMs ?? 0,
    };
  }

  /**
   * The job's options as `queue.add` stores them. Most jobs use their catalogue defaults, whose text
   * is built once per job name; only the id is spliced in.
   */
  private optionsJson(item: EnqueueItem): string {
    const isDefault = !item.delayMs && !item.keepCompletedSeconds;
    let rest = isDefault ? this.defaultOptionsJson.get(item.name) : undefined;
    if (rest === undefined) {
      rest = JSON.stringify(this.options.optionsWithoutId(item.name, item.delayMs, item.keepCompletedSeconds)).slice(1);
      if (isDefault) this.defaultOptionsJson.set(item.name, rest);
    }
    return `{"jobId":${JSON.stringify(item.jobId)},${rest}`;
  }

  /** EVALSHA, loading the script on first use and again after a Redis restart forgot it. */
  private async runEnqueueScript(args: string[]): Promise<number[]> {
    try {
      return (await this.connection.evalsha(ENQUEUE_SCRIPT_SHA, 0, ...args)) as number[];
    } catch (error) {
      if (!(error as Error).message.startsWith('NOSCRIPT')) throw error;
      return (await this.connection.eval(ENQUEUE_SCRIPT, 0, ...args)) as number[];
    }
  }
}
