/**
 * Which handler runs each job of the catalogue. Loaded lazily, and only by the worker role: the API
 * and the scheduler never import a handler. The mapped type makes a job without a handler a compile
 * error.
 */
import type { JobName, JobPayloads } from '../queue/job-catalog.js';
import type { JobHandler } from './job-context.js';

type HandlerLoaders = { [N in JobName]: () => Promise<JobHandler<JobPayloads[N]>> };

export const JOB_HANDLERS: HandlerLoaders = {
  webhook_process: async () => (await import('./webhook-process.job.js')).handle,
  receipt_apply: async () => (await import('./receipt-apply.job.js')).handle,
  reply_generate: async () => (await import('./reply-generate.job.js')).handle,
  send_message: async () => (await import('./send-message.job.js')).handle,
  conversation_summarize: async () => (await import('./conversation-summarize.job.js')).handle,
  broadcast_fanout: async () => (await import('./broadcast-fanout.job.js')).handle,
  broadcast_send: async () => (await import('./broadcast-send.job.js')).handle,
  reminders_tick: async () => (await import('./reminders-tick.job.js')).handle,
  sessions_sweep: async () => (await import('./sessions-sweep.job.js')).handle,
  receipts_reconcile: async () => (await import('./receipts-reconcile.job.js')).handle,
  retention_cleanup: async () => (await import('./retention-cleanup.job.js')).handle,
};
