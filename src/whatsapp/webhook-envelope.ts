/**
 * The gateway's webhook envelope (DESIGN.md "Inbound contract") and its translation into jobs.
 *
 * Validation here is deliberately shallow: only what the webhook needs to answer correctly (the tenant,
 * the event, each message's identity). The message content is validated and normalised by the worker,
 * so the acknowledgement stays fast and a message with an odd shape is still accepted and stored.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import type { EnqueueItem } from '../queue/job-queues.js';
import { messageJobId, receiptJobId } from '../queue/job-ids.js';
import { toNumber } from './baileys-values.js';

export const WEBHOOK_EVENTS = ['messages.upsert', 'messages.update', 'message-receipt.update'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

const Key = Type.Object(
  {
    remoteJid: Type.String({ minLength: 1, maxLength: 256 }),
    id: Type.String({ minLength: 1, maxLength: 256 }),
    fromMe: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
    participant: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  },
  { additionalProperties: true },
);

const Envelope = Type.Object(
  {
    tenantId: Type.String({ minLength: 1, maxLength: 128 }),
    event: Type.Optional(Type.Union(WEBHOOK_EVENTS.map((e) => Type.Literal(e)))),
    payload: Type.Unknown(),
  },
  { additionalProperties: true },
);

const MAX_BATCH = 1000;

const UpsertPayload = Type.Object(
  {
    type: Type.Optional(Type.String()),
    messages: Type.Array(Type.Object({ key: Key }, { additionalProperties: true }), { maxItems: MAX_BATCH }),
  },
  { additionalProperties: true },
);

const UpdatePayload = Type.Array(
  Type.Object({ key: Key, update: Type.Record(Type.String(), Type.Unknown()) }, { additionalProperties: true }),
  { maxItems: MAX_BATCH },
);

const ReceiptPayload = Type.Array(
  Type.Object(
    { key: Key, receipt: Type.Object({ userJid: Type.String({ minLength: 1 }) }, { additionalProperties: true }) },
    { additionalProperties: true },
  ),
  { maxItems: MAX_BATCH },
);

type Envelope = Static<typeof Envelope>;

// Compiled once at load: no per-request allocation of validators.
const envelopeCheck = TypeCompiler.Compile(Envelope);
const upsertCheck = TypeCompiler.Compile(UpsertPayload);
const updateCheck = TypeCompiler.Compile(UpdatePayload);
const receiptCheck = TypeCompiler.Compile(ReceiptPayload);

export class EnvelopeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EnvelopeError';
  }
}

export interface WebhookBatch {
  tenantId: string;
  event: WebhookEvent;
  items: EnqueueItem[];
  /** Events that need no job (decryption placeholders, updates carrying no status). */
  ignored: number;
  /** The WhatsApp message id of each item, for the log lines. */
  messageIds: string[];
}

/** Validates the envelope and turns it into the jobs to enqueue. Throws `EnvelopeError` on bad input. */
export function parseEnvelope(body: unknown): Envelope {
  return check(envelopeCheck, body, '');
}

export function buildWebhookBatch(envelope: Envelope, receivedAt: number): WebhookBatch {
  const event = envelope.event ?? 'messages.upsert';
  const batch: WebhookBatch = { tenantId: envelope.tenantId, event, items: [], ignored: 0, messageIds: [] };
  const { tenantId } = envelope;
  if (event === 'messages.upsert') {
    const payload = check(upsertCheck, envelope.payload, 'payload');
    const upsertType = payload.type ?? 'notify';
    for (const message of payload.messages) {
      // A decryption placeholder: the real message follows under the same key.id, so it must not take
      // that id's job now (it would turn the real message into a "duplicate").
      const fields: Record<string, unknown> = message;
      if (fields['messageStubType'] === 2 && fields['message'] == null) {
        batch.ignored += 1;
        continue;
      }
      const key = { remoteJid: message.key.remoteJid, id: message.key.id, fromMe: message.key.fromMe === true };
      // The key travels whole (the worker needs remoteJidAlt / participantAlt), minus a null participant.
      const { participant, ...restOfKey } = message.key;
      batch.items.push({
        name: 'webhook_process',
        jobId: messageJobId(tenantId, key),
        payload: {
          tenantId,
          upsertType,
          receivedAt,
          message: { ...message, key: { ...restOfKey, fromMe: key.fromMe, ...(participant ? { participant } : {}) } },
        },
      });
      batch.messageIds.push(key.id);
    }
  } else if (event === 'messages.update') {
    for (const entry of check(updateCheck, envelope.payload, 'payload')) {
      const status = toNumber(entry.update['status']);
      if (status === null || !Number.isInteger(status) || status < 0 || status > 5) {
        batch.ignored += 1;
        continue;
      }
      const at = toNumber(entry.update['messageTimestamp']);
      pushReceipt(batch, entry.key, status, at === null ? null : at * 1000, null);
    }
  } else {
    for (const entry of check(receiptCheck, envelope.payload, 'payload')) {
      const receipt: Record<string, unknown> = entry.receipt;
      const stamps: Array<[number, unknown]> = [
        [3, receipt['receiptTimestamp']],
        [4, receipt['readTimestamp']],
        [5, receipt['playedTimestamp']],
      ];
      let found = false;
      for (const [status, raw] of stamps) {
        const at = toNumber(raw);
        if (at === null) continue;
        found = true;
        pushReceipt(batch, entry.key, status, at * 1000, entry.receipt.userJid);
      }
      if (!found) batch.ignored += 1;
    }
  }
  return batch;
}

function pushReceipt(
  batch: WebhookBatch,
  rawKey: Static<typeof Key>,
  status: number,
  at: number | null,
  userJid: string | null,
): void {
  const key = { remoteJid: rawKey.remoteJid, id: rawKey.id, fromMe: rawKey.fromMe === true };
  batch.items.push({
    name: 'receipt_apply',
    jobId: receiptJobId(batch.tenantId, key, status, userJid),
    payload: { tenantId: batch.tenantId, key, status, at, userJid },
  });
  batch.messageIds.push(key.id);
}

function check<S extends TSchema>(compiled: TypeCheck<S>, value: unknown, root: string): Static<S> {
  if (compiled.Check(value)) return value;
  const first = compiled.Errors(value).First();
  if (!first) throw new EnvelopeError('Invalid body');
  const path = formatPath(root, first.path);
  if (first.path === '/event') throw new EnvelopeError(`event must be one of ${WEBHOOK_EVENTS.join(', ')}`);
  const missing = first.value === undefined;
  throw new EnvelopeError(missing ? `${path} is required` : `${path}: ${first.message.toLowerCase()}`);
}

/** `/payload/messages/0/key/id` → `payload.messages[0].key.id`. */
function formatPath(root: string, pointer: string): string {
  let out = root;
  for (const segment of pointer.split('/').filter(Boolean)) {
    out += /^\d+$/.test(segment) ? `[${segment}]` : out ? `.${segment}` : segment;
  }
  return out || 'body';
}
