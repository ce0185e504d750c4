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
} as const satisfies Record<string, JobSpec>;

export type JobName = keyof typeof JOB_CATALOG;
export type JobPayloads = { [N in JobName]: Static<(typeof JOB_CATALOG)[N]['payload']> };
export type WebhookProcessJob = JobPayloads['webhook_process'];
export type ReceiptApplyJob = JobPayloads['receipt_apply'];

export const JOB_NAMES = Object.keys(JOB_CATALOG) as JobName[];

export function isJobName(name: string): name is JobName {
  return Object.hasOwn(JOB_CATALOG, name);
}
