/** The worker role: consumes WORKER_QUEUES and runs job handlers. It serves no API routes. */
import type { Server } from 'node:http';
import { createDispatcher } from '../jobs/dispatcher.js';
import { startHealthServer } from '../lib/health-server.js';
import { JOB_CATALOG, JOB_NAMES, type JobName } from '../queue/job-catalog.js';
import { JobWorkers } from '../queue/job-workers.js';
import { DEFAULT_REDIS_URL } from '../queue/redis-connections.js';
import type { StartRole } from './role.js';

/** The jobs whose handlers call the AI provider. */
const JOBS_ASKING_THE_AI: ReadonlySet<JobName> = new Set(['reply_generate', 'conversation_summarize']);

export const start: StartRole = async (c, { serveHealth }) => {
  const log = c.log.child({ component: 'worker' });
  // Bind the port before consuming: a process that fails to start (EADDRINUSE) must not have taken
  // jobs first, or each failed start stalls them (and maxStalledCount can fail them for good).
  let server: Server | undefined;
  if (serveHealth) server = await startHealthServer({ port: c.config.PORT, host: c.config.HOST, probes: c.probes, metrics: c.metrics });
  const dispatcher = createDispatcher(
    {
      tenants: c.tenants,
      messages: c.messages,
      receipts: c.receipts,
      conversations: c.conversations,
      replies: c.replies,
      outbox: c.outbox,
      reminders: c.reminders,
      broadcasts: c.broadcasts,
      rateLimiter: c.rateLimiter,
      maintenance: c.maintenance,
      queues: c.queues,
      ai: c.ai,
      gateway: c.gateway,
      settings: {
        debounceMs: c.config.REPLY_DEBOUNCE_MS,
        maxAgeMinutes: c.config.REPLY_MAX_AGE_MINUTES,
        takeoverMinutes: c.config.HUMAN_TAKEOVER_MINUTES,
        historyMessages: c.config.AI_HISTORY_MESSAGES,
        summaryIdleMs: c.config.SUMMARY_IDLE_MS,
        retentionDays: c.config.RETENTION_DAYS,
        reminderMaxLatenessMinutes: c.config.REMINDER_MAX_LATENESS_MINUTES,
        broadcastRatePerMinute: c.config.BROADCAST_RATE_PER_MINUTE,
      },
    },
    log,
    c.metrics,
  );
  // Before taking jobs: the first jobs after a start would otherwise pay for loading their handlers
  // and, for replies and summaries, the `openai` package (about 100 ms of CPU).
  const consumed = JOB_NAMES.filter((name) => c.config.WORKER_QUEUES.includes(JOB_CATALOG[name].queue));
  await dispatcher.preload(consumed);
  if (consumed.some((name) => JOBS_ASKING_THE_AI.has(name))) await c.ai.warmUp?.();
  const workers = new JobWorkers(
    {
      redisUrl: c.config.REDIS_URL ?? DEFAULT_REDIS_URL,
      prefix: c.config.QUEUE_PREFIX,
      queues: c.config.WORKER_QUEUES,
      concurrency: c.config.WORKER_CONCURRENCY,
      lockDurationMs: c.config.WORKER_LOCK_MS,
      stalledIntervalMs: c.config.WORKER_STALLED_INTERVAL_MS,
      log,
    },
    dispatcher,
  );
  log.info({ queues: c.config.WORKER_QUEUES }, 'Worker consuming');
  return async () => {
    server?.close();
    log.info('Worker draining in-flight jobs');
    await workers.close();
    log.info('Worker stopped');
  };
};
