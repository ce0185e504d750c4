import type { MessagesRepository } from '../db/repositories/messages.repository.js';
import type { ReceiptsRepository } from '../db/repositories/receipts.repository.js';
import type { Logger } from '../lib/logger.js';
import type { QueueJob } from '../queue/job-workers.js';

/** What every job handler may use. Handlers take only what they need from it. */
export interface JobDeps {
  messages: MessagesRepository;
  receipts: ReceiptsRepository;
}

export interface JobContext {
  /** A child logger scoped to this job (queue, job id, name, attempt). */
  log: Logger;
  job: QueueJob;
  deps: JobDeps;
}

export type JobHandler<P> = (payload: P, ctx: JobContext) => Promise<unknown>;
