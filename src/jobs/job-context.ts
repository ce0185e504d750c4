import type { ReplyGenerator } from '../ai/reply-generator.js';
import type { BroadcastsRepository } from '../db/repositories/broadcasts.repository.js';
import type { ConversationsRepository } from '../db/repositories/conversations.repository.js';
import type { MaintenanceRepository } from '../db/repositories/maintenance.repository.js';
import type { MessagesRepository } from '../db/repositories/messages.repository.js';
import type { OutboxRepository } from '../db/repositories/outbox.repository.js';
import type { ReceiptsRepository } from '../db/repositories/receipts.repository.js';
import type { RemindersRepository } from '../db/repositories/reminders.repository.js';
import type { RepliesRepository } from '../db/repositories/replies.repository.js';
import type { TenantsRepository } from '../db/repositories/tenants.repository.js';
import type { Logger } from '../lib/logger.js';
import type { JobQueues } from '../queue/job-queues.js';
import type { QueueJob } from '../queue/job-workers.js';
import type { RateLimiter } from '../queue/rate-limiter.js';
import type { GatewayClient } from '../whatsapp/gateway.types.js';
import type { JobSettings } from './reply-policy.js';

/** What every job handler may use. Handlers take only what they need from it. */
export interface JobDeps {
  tenants: TenantsRepository;
  messages: MessagesRepository;
  receipts: ReceiptsRepository;
  conversations: ConversationsRepository;
  replies: RepliesRepository;
  outbox: OutboxRepository;
  reminders: RemindersRepository;
  broadcasts: BroadcastsRepository;
  /** Per-tenant broadcast send rate, shared by every worker (in Redis). */
  rateLimiter: Pick<RateLimiter, 'take'>;
  /** The periodic jobs' cross-tenant housekeeping queries. */
  maintenance: MaintenanceRepository;
  /** Jobs enqueue follow-up jobs through the same one door as the API; retention also cleans job records. */
  queues: Pick<JobQueues, 'enqueue' | 'enqueueBatch' | 'cleanFinished'>;
  ai: ReplyGenerator;
  /** null when GATEWAY_URL is not set: sends then fail visibly instead of retrying forever. */
  gateway: GatewayClient | null;
  settings: JobSettings;
}

export interface JobContext {
  /** A child logger scoped to this job (queue, job id, name, attempt). */
  log: Logger;
  job: QueueJob;
  deps: JobDeps;
}

export type JobHandler<P> = (payload: P, ctx: JobContext) => Promise<unknown>;
