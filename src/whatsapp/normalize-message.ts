/**
 * Raw Baileys `WAMessage` (parsed webhook JSON) → `NormalizedMessage`. Pure: no I/O, and the only
 * ambient input is the clock, read when a message has no timestamp.
 */
import { isRecord, toNumber } from './baileys-values.js';
import { extractContent } from './message-content.js';
import { readMessageKey, resolveTarget } from './message-key.js';
import type { NormalizedMessage } from './message.types.js';

const TARGETED_KINDS: ReadonlySet<string> = new Set(['reaction', 'revoke', 'edit']);

function sentAtOf(timestamp: unknown): Date {
  const seconds = toNumber(timestamp);
  // 0 is protobuf's "unset"; a message without a time is stamped on arrival rather than in 1970.
  if (seconds === null || seconds <= 0) return new Date();
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? new Date() : date;
}

/**
 * Normalise one raw `WAMessage`. Returns null when it carries nothing to store: a decryption
 * placeholder or other stub without `message`, a key-exchange-only message, a protocol message other
 * than a revoke or an edit, or a reaction/revoke/edit that names no target.
 *
 * @throws TypeError when `key.id` / `key.remoteJid` are missing: callers validate those first.
 */
export function normalizeMessage(raw: unknown): NormalizedMessage | null {
  const key = readMessageKey(raw);
  const record = isRecord(raw) ? raw : {};

  const content = extractContent(record.message);
  if (content === null) return null;
  const target = resolveTarget(content.kind, content.targetKey, key);
  if (TARGETED_KINDS.has(content.kind) && target === null) return null;

  const { pushName, status } = record;
  return {
    waMessageId: key.id,
    remoteJid: key.remoteJid,
    fromMe: key.fromMe,
    chatType: key.chatType,
    participant: key.participant,
    senderJid: key.senderJid,
    senderPhone: key.senderPhone,
    pushName: typeof pushName === 'string' && pushName !== '' ? pushName : null,
    kind: content.kind,
    text: content.text,
    media: content.media,
    location: content.location,
    contacts: content.contacts,
    target,
    quotedMessageId: content.quotedMessageId,
    contentType: content.contentType,
    sentAt: sentAtOf(record.messageTimestamp),
    status: typeof status === 'number' && Number.isInteger(status) ? status : null,
  };
}
