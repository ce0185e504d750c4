/**
 * The typed job catalogue: every job Switchboard can enqueue, its payload schema, its queue and its
 * retry and retention policy. Producers (`enqueue`) and the worker's dispatch both read it; the handlers
 * themselves are listed in `src/jobs/handlers.ts`, which only the worker loads.
 *
 * Payloads are validated with the same schema when a worker picks a job up: Redis is a boundary too
 * (an older deploy, an operator's hand-edited job).
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { QueueName } from './queue-names.js';

const MessageKey = Type.Object({
  remoteJid: Type.String({ minLength: 1 }),
  id: Type.String({ minLength: 1 }),
  fromMe: Type.Boolean(),
  participant: Type.Optional(Type.String()),
});

export const WebhookProcessPayload = Type.Object({
  tenantId: Type.String({ minLength: 1 }),
  /** Baileys' upsert type: `notify` (live) or `append` (offline replay, history). */
  upsertType: Type.String(),
  receivedAt: Type.Number(),
  /** The raw Baileys WAMessage; the job normalises it. */
  message: Type.Object({ key: MessageKey }, { additionalProperties: true }),
});

export const ReceiptApplyPayload = Type.Object({
  tenantId: Type.String({ minLength: 1 }),
  key: MessageKey,
  /** Baileys status: 0 ERROR, 1 PENDING, 2 SERVER_ACK, 3 DELIVERY_ACK, 4 READ, 5 PLAYED. */
  status: Type.Integer({ minimum: 0, maximum: 5 }),
  /** When the status was reached, epoch milliseconds, if the gateway said. */
  at: Type.Union([Type.Number(), Type.Null()]),
  /** For group receipts: the member who received or read it. */
  userJid: Type.Union([Type.String(), Type.Null()]),
});

const Id = Type.String({ pattern: '^[0-9]+$' });

export const ReplyGeneratePayload = Type.Object({
  tenantId: Type.String({ minLength: 1 }),
  conversationId: Id,
  /** The inbound message whose arrival scheduled this job (the debounce compares against it). */
  triggerMessageId: Id,
});

export const SendMessagePayload = Type.Object({
  tenantId: Type.String({ minLength: 1 }),
  /** The outbox row to send; its id is the gateway's idempotency key. */
  outboxId: Id,
});

export const ConversationSummarizePayload = Type.Object({
  tenantId: Type.String({ minLength: 1 }),
  conversationId: Id,
  triggerMessageId: Id,
});

export const BroadcastFanoutPayload = Type.Object({
  tenantId: Type.String({ minLength: 1 }),
  broadcastId: Id,
});

export const BroadcastSendPayload = Type.Object({
  tenantId: Type.String({ minLength: 1 }),
  broadcastId: Id,
  /** The recipient row to send to; it becomes at most one outbox row. */
  recipientId: Id,
});

/** One tick of a periodic schedule: the tick's own time makes its job id, so it runs once. */
export const ScheduledTickPayload = Type.Object({
  schedule: Type.String({ minLength: 1 }),
  /** The tick's due time, epoch milliseconds. */
  tickAt: Type.Integer({ minimum: 0 }),
});

export interface JobSpec<S extends TSchema = TSchema> {
  queue: QueueName;
  payload: S;
  /** Attempts before the job fails for good; undefined = JOB_ATTEMPTS. */
  attempts?: number;
  /**
   * Completed jobs are kept for the dedupe window: their ids are the dedupe markers, so a redelivery
   * of the same event within the window is recognised even after its job finished.
   */
  keepCompletedForDedupeWindow: boolean;
}

export const JOB_CATALOG = {
  webhook_process: { queue: 'default', payload: WebhookProcessPayload, keepCompletedForDedupeWindow: true },
  receipt_apply: { queue: 'receipts', payload: ReceiptApplyPayload, keepCompletedForDedupeWindow: true },
  reply_generate: { queue: 'default', payload: ReplyGeneratePayload, keepCompletedForDedupeWindow: false },
  send_message: { queue: 'high', payload: SendMessagePayload, keepCompletedForDedupeWindow: true },
  conversation_summarize: { queue: 'low', payload: ConversationSummarizePayload, keepCompletedForDedupeWindow: false },
  // Broadcasts: one fan-out job per broadcast enqueues one send job per recipient.
  broadcast_fanout: { queue: 'broadcasts', payload: BroadcastFanoutPayload, keepCompletedForDedupeWindow: false },
  broadcast_send: { queue: 'broadcasts', payload: BroadcastSendPayload, keepCompletedForDedupeWindow: false },
  // Periodic work, enqueued by the scheduler role once per tick.
  reminders_tick: { queue: 'default', payload: ScheduledTickPayload, keepCompletedForDedupeWindow: false },
  sessions_sweep: { queue: 'low', payload: ScheduledTickPayload, keepCompletedForDedupeWindow: false },
  receipts_reconcile: { queue: 'receipts_sync', payload: ScheduledTickPayload, keepCompletedForDedupeWindow: false },
  retention_cleanup: { queue: 'maintenance', payload: ScheduledTickPayload, keepCompletedForDedupeWindow: false },
} as const satisfies Record<string, JobSpec>;

export type JobName = keyof typeof JOB_CATALOG;
export type JobPayloads = { [N in JobName]: Static<(typeof JOB_CATALOG)[N]['payload']> };
export type WebhookProcessJob = JobPayloads['webhook_process'];
export type ReceiptApplyJob = JobPayloads['receipt_apply'];
export type ReplyGenerateJob = JobPayloads['reply_generate'];
export type SendMessageJob = JobPayloads['send_message'];
export type ConversationSummarizeJob = JobPayloads['conversation_summarize'];
export type BroadcastFanoutJob = JobPayloads['broadcast_fanout'];
export type BroadcastSendJob = JobPayloads['broadcast_send'];
export type ScheduledTickJob = Static<typeof ScheduledTickPayload>;

export const JOB_NAMES = Object.keys(JOB_CATALOG) as JobName[];

export function isJobName(name: string): name is JobName {
  return Object.hasOwn(JOB_CATALOG, name);
}
