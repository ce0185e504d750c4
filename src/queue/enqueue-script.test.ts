/**
 * The enqueue script must leave in Redis exactly what BullMQ's own `queue.add` leaves, since BullMQ's
 * workers read it. Each case adds the same jobs twice, once through `JobQueues` (the script) under
 * one prefix and once through `queue.add` under another, and compares everything BullMQ keeps: the job
 * hashes, the wait / paused lists, the delayed set, the worker marker and the event stream. A BullMQ
 * upgrade that changes its layout fails here. Then a real BullMQ worker runs the script's jobs.
 */
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrivateRedis } from '../../test/support/private-redis.js';
import { SHARED_REDIS_URL, deletePrefix, uniquePrefix } from '../../test/support/redis.js';
import { createLogger } from '../lib/logger.js';
import { JOB_CATALOG } from './job-catalog.js';
import { JobQueues, type EnqueueItem, type JobQueuesOptions } from './job-queues.js';

const SCORE_ORDER_BITS = 0x1000;

let redis: Redis;
let scriptPrefix: string;
let bullmqPrefix: string;
let queues: JobQueues;
const referenceQueues = new Map<string, Queue>();

function referenceQueue(name: string): Queue {
  let queue = referenceQueues.get(name);
  if (!queue) {
    queue = new Queue(name, { connection: redis, prefix: bullmqPrefix });
    referenceQueues.set(name, queue);
  }
  return queue;
}

const webhookItem = (id: string): EnqueueItem<'webhook_process'> => ({
  name: 'webhook_process',
  jobId: `msg|t1|${id}`,
  payload: { tenantId: 't1', upsertType: 'notify', receivedAt: 1_700_000_000_000, message: { key: { remoteJid: '1@s.whatsapp.net', id, fromMe: false } } },
});

/** Adds the items through the script, and the same jobs one by one through BullMQ's `queue.add`. */
async function addBothWays(items: EnqueueItem[]): Promise<boolean[]> {
  const results = await queues.enqueueBatch(items);
  for (const item of items) {
    await referenceQueue(JOB_CATALOG[item.name].queue).add(item.name, item.payload, queues.jobOptions(item.name, item.jobId, item.delayMs, item.keepCompletedSeconds));
  }
  return results.map((result) => result.isDuplicate);
}

/** What BullMQ keeps about a queue, with the times (which differ between the two adds) taken out. */
async function queueState(prefix: string, queue: string, jobIds: string[]) {
  const base = `${prefix}:${queue}:`;
  const jobs = await Promise.all(
    jobIds.map(async (id) => {
      const { timestamp, opts, ...rest } = await redis.hgetall(base + id);
      return { ...rest, opts: opts === undefined ? undefined : (JSON.parse(opts) as unknown), hasTimestamp: /^\d{13}$/.test(timestamp ?? '') };
    }),
  );
  const delayed = await redis.zrange(`${base}delayed`, 0, -1, 'WITHSCORES');
  const delayedJobs: Array<{ id: string; delayMs: number }> = [];
  for (let i = 0; i < delayed.length; i += 2) {
    const id = delayed[i] as string;
    const dueAt = Math.floor(Number(delayed[i + 1]) / SCORE_ORDER_BITS);
    delayedJobs.push({ id, delayMs: dueAt - Number(await redis.hget(base + id, 'timestamp')) });
  }
  const marker = await redis.zrange(`${base}marker`, 0, -1, 'WITHSCORES');
  const events = (await redis.xrange(`${base}events`, '-', '+')).map(([, fields]) => fields.filter((_, i) => fields[i - 1] !== 'delay'));
  return {
    jobs,
    wait: await redis.lrange(`${base}wait`, 0, -1),
    paused: await redis.lrange(`${base}paused`, 0, -1),
    delayedJobs,
    // Member "0" (a job is waiting) has score 0; member "1" is scored with the next delayed due time.
    marker: marker.filter((_, i) => i % 2 === 0),
    events,
    maxLenEvents: await redis.hget(`${base}meta`, 'opts.maxLenEvents'),
  };
}

const queuesOptions = (redisUrl: string, prefix: string): JobQueuesOptions => ({
  redisUrl,
  prefix,
  commandTimeoutMs: 2000,
  attempts: 10,
  backoffMs: 1000,
  dedupeWindowSeconds: 86_400,
  log: createLogger('silent'),
});

beforeAll(async () => {
  redis = new Redis(SHARED_REDIS_URL, { maxRetriesPerRequest: null });
  scriptPrefix = uniquePrefix();
  bullmqPrefix = uniquePrefix();
  queues = new JobQueues(queuesOptions(SHARED_REDIS_URL, scriptPrefix));
  await queues.waitUntilConnected(5000);
});

afterAll(async () => {
  await queues.close();
  await Promise.all([...referenceQueues.values()].map((queue) => queue.close()));
  redis.disconnect();
  await deletePrefix(scriptPrefix);
  await deletePrefix(bullmqPrefix);
});

describe('enqueue script', () => {
  it('writes waiting, delayed, retained and duplicate jobs exactly as queue.add does', async () => {
    const items: EnqueueItem[] = [
      webhookItem('A1'),
      webhookItem('A2'),
      { name: 'reply_generate', jobId: 'reply|t1|7', payload: { tenantId: 't1', conversationId: '7', triggerMessageId: '9' }, delayMs: 5000 },
      { name: 'reply_generate', jobId: 'reply|t1|8', payload: { tenantId: 't1', conversationId: '8', triggerMessageId: '10' }, delayMs: 5000 },
      { name: 'send_message', jobId: 'send|t1|3', payload: { tenantId: 't1', outboxId: '3' }, keepCompletedSeconds: 60 },
    ];
    expect(await addBothWays(items)).toEqual([false, false, false, false, false]);
    // Again, and a new one in the same call: the known ones are duplicates and nothing of theirs changes.
    expect(await addBothWays([webhookItem('A1'), webhookItem('A3'), items[2] as EnqueueItem])).toEqual([true, false, true]);

    const defaultIds = ['msg|t1|A1', 'msg|t1|A2', 'msg|t1|A3', 'reply|t1|7', 'reply|t1|8'];
    const ours = await queueState(scriptPrefix, 'default', defaultIds);
    const reference = await queueState(bullmqPrefix, 'default', defaultIds);
    expect(ours).toEqual(reference);
    // The comparison is not vacuous: the jobs are there, in the order BullMQ keeps them.
    expect(ours.wait).toEqual(['msg|t1|A3', 'msg|t1|A2', 'msg|t1|A1']);
    expect(ours.delayedJobs).toEqual([
      { id: 'reply|t1|7', delayMs: 5000 },
      { id: 'reply|t1|8', delayMs: 5000 },
    ]);
    expect(ours.marker).toEqual(['0', '1']);
    expect(ours.events.map((fields) => fields[1])).toEqual(['added', 'waiting', 'added', 'waiting', 'added', 'delayed', 'added', 'delayed', 'duplicated', 'added', 'waiting', 'duplicated']);
    expect(ours.jobs[0]).toMatchObject({ name: 'webhook_process', delay: '0', priority: '0', hasTimestamp: true });

    const high = await queueState(scriptPrefix, 'high', ['send|t1|3']);
    expect(high).toEqual(await queueState(bullmqPrefix, 'high', ['send|t1|3']));
    expect(high.jobs[0]?.opts).toMatchObject({ jobId: 'send|t1|3', removeOnComplete: { age: 60 } });
  });

  it('puts jobs for a paused queue in its paused list without waking a worker, as queue.add does', async () => {
    await queues.queue('low').pause();
    await referenceQueue('low').pause();
    const item: EnqueueItem = { name: 'conversation_summarize', jobId: 'summary|t1|1', payload: { tenantId: 't1', conversationId: '1', triggerMessageId: '2' } };
    expect(await addBothWays([item])).toEqual([false]);
    const ours = await queueState(scriptPrefix, 'low', ['summary|t1|1']);
    expect(ours).toEqual(await queueState(bullmqPrefix, 'low', ['summary|t1|1']));
    expect(ours.paused).toEqual(['summary|t1|1']);
    expect(ours.wait).toEqual([]);
    expect(ours.marker).toEqual([]);
  });

  it('hands its jobs, waiting and delayed, to a BullMQ worker with their payloads and options', async () => {
    const seen: Array<{ id: string | undefined; data: unknown; attempts: number | undefined }> = [];
    let onTwo: () => void = () => undefined;
    const bothSeen = new Promise<void>((resolve) => (onTwo = resolve));
    const connection = new Redis(SHARED_REDIS_URL, { maxRetriesPerRequest: null });
    const worker = new Worker(
      'maintenance',
      async (job) => {
        seen.push({ id: job.id, data: job.data, attempts: job.opts.attempts });
        if (seen.length === 2) onTwo();
      },
      { connection, prefix: scriptPrefix },
    );
    try {
      await queues.enqueueBatch([
        { name: 'retention_cleanup', jobId: 'tick|later', payload: { schedule: 'retention_cleanup', tickAt: 2 }, delayMs: 300 },
        { name: 'retention_cleanup', jobId: 'tick|now', payload: { schedule: 'retention_cleanup', tickAt: 1 } },
      ]);
      await bothSeen;
      expect(seen).toEqual([
        { id: 'tick|now', data: { schedule: 'retention_cleanup', tickAt: 1 }, attempts: 10 },
        { id: 'tick|later', data: { schedule: 'retention_cleanup', tickAt: 2 }, attempts: 10 },
      ]);
    } finally {
      await worker.close();
      connection.disconnect();
    }
  });

  it('loads the script again after Redis forgot it (SCRIPT FLUSH, as after a restart)', async () => {
    // A private server: flushing the shared one's scripts would disturb the other test files.
    const server = await PrivateRedis.start();
    const own = new JobQueues(queuesOptions(server.url, scriptPrefix));
    const client = new Redis(server.url);
    try {
      await own.waitUntilConnected(5000);
      expect(await own.enqueueBatch([webhookItem('BEFORE-FLUSH')])).toEqual([{ jobId: 'msg|t1|BEFORE-FLUSH', isDuplicate: false }]);
      await client.script('FLUSH');
      expect(await own.enqueueBatch([webhookItem('AFTER-FLUSH')])).toEqual([{ jobId: 'msg|t1|AFTER-FLUSH', isDuplicate: false }]);
      expect(await client.hget(`${scriptPrefix}:default:msg|t1|AFTER-FLUSH`, 'name')).toBe('webhook_process');
    } finally {
      client.disconnect();
      await own.close();
      await server.stop();
    }
  });
});
