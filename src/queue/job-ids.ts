/**
 * Deterministic job ids: the same WhatsApp event always maps to the same id, which is what makes the
 * enqueue idempotent. BullMQ forbids `:` in custom ids (it is its key separator) and all-digit ids
 * (they collide with its counter), so each part is escaped and the id carries a letter prefix.
 * Ids stay readable, which helps an operator find a message's job.
 */
const UNSAFE = /[^A-Za-z0-9@._-]/g;

function part(value: string): string {
  return value.replace(UNSAFE, (ch) =>
    [...Buffer.from(ch, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  );
}

export interface KeyIdentity {
  remoteJid: string;
  id: string;
  fromMe: boolean;
}

export function messageJobId(tenantId: string, key: KeyIdentity): string {
  return ['msg', part(tenantId), part(key.remoteJid), part(key.id), key.fromMe ? 'out' : 'in'].join('|');
}

export function receiptJobId(tenantId: string, key: KeyIdentity, status: number, userJid: string | null): string {
  const base = ['rcpt', part(tenantId), part(key.remoteJid), part(key.id), key.fromMe ? 'out' : 'in', String(status)];
  if (userJid) base.push(part(userJid));
  return base.join('|');
}

export function replyJobId(tenantId: string, triggerMessageId: string): string {
  return ['reply', part(tenantId), triggerMessageId].join('|');
}

export function sendJobId(tenantId: string, outboxId: string): string {
  return ['send', part(tenantId), outboxId].join('|');
}

export function summaryJobId(tenantId: string, triggerMessageId: string): string {
  return ['summary', part(tenantId), triggerMessageId].join('|');
}

/** Broadcast ids are global (bigserial), so they name their jobs without the tenant. */
export function broadcastFanoutJobId(broadcastId: string): string {
  return ['bcast-fanout', broadcastId].join('|');
}

export function broadcastSendJobId(broadcastId: string, recipientId: string): string {
  return ['bcast', broadcastId, recipientId].join('|');
}

/** The gateway's idempotency key for an outbox row: stable across every retry and re-run. */
export function outboxIdempotencyKey(tenantId: string, outboxId: string): string {
  return `switchboard-${part(tenantId)}-outbox-${outboxId}`;
}
