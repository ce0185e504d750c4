/**
 * Everything normalisation derives from a `WAMessage.key`: the message identity, the chat type, who
 * wrote it, and which stored message a reaction, revoke or edit points at.
 */
import { isRecord, jidServer, phoneFromJid } from './baileys-values.js';
import type { ChatType, MessageKeyRef, MessageKind } from './message.types.js';

export interface MessageKeyInfo {
  id: string;
  remoteJid: string;
  fromMe: boolean;
  chatType: ChatType;
  participant: string | null;
  senderJid: string;
  senderPhone: string | null;
}

function nonEmpty(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

export function chatTypeOf(remoteJid: string): ChatType {
  if (remoteJid === 'status@broadcast') return 'status';
  switch (jidServer(remoteJid)) {
    case 'g.us':
      return 'group';
    case 'newsletter':
      return 'newsletter';
    case 'broadcast':
      return 'broadcast';
    default:
      return 'direct';
  }
}

/**
 * Reads `raw.key`. Throws a TypeError when `key.id` / `key.remoteJid` are missing: the webhook
 * schema guarantees them, so reaching here without them is a bug upstream, not bad input.
 */
export function readMessageKey(raw: unknown): MessageKeyInfo {
  const key = isRecord(raw) ? raw.key : undefined;
  if (!isRecord(key)) throw new TypeError('normalizeMessage: raw message has no `key` object');
  const id = nonEmpty(key.id);
  if (id === null) throw new TypeError('normalizeMessage: `key.id` must be a non-empty string');
  const remoteJid = nonEmpty(key.remoteJid);
  if (remoteJid === null) throw new TypeError('normalizeMessage: `key.remoteJid` must be a non-empty string');

  const chatType = chatTypeOf(remoteJid);
  // Broadcast lists also name the author in `participant` (Baileys' getChatId relies on it); only a
  // 1:1 chat has no one but the peer to attribute the message to.
  const participant = chatType === 'direct' ? null : nonEmpty(key.participant);
  const senderJid = participant ?? remoteJid;

  let senderPhone = phoneFromJid(senderJid);
  if (senderPhone === null && jidServer(senderJid) === 'lid') {
    // A lid hides the number; Baileys passes the phone jid beside it when the server disclosed it.
    const alt = nonEmpty(participant === null ? key.remoteJidAlt : key.participantAlt);
    senderPhone = alt === null ? null : phoneFromJid(alt);
  }

  return { id, remoteJid, fromMe: key.fromMe === true, chatType, participant, senderJid, senderPhone };
}

/**
 * The stored message a reaction, revoke or edit acts on; null when its key names none.
 *
 * Baileys (`cleanMessage`) already rewrites a reaction's key into our perspective, so it is used as
 * given. A protocol message's key is left as the sender wrote it: in a 1:1 chat its remoteJid is *our*
 * jid and `fromMe` is true for the sender's own message. Like Baileys' own REVOKE handling, we keep only
 * its id and take the chat from the carrying message; the author is the carrier's unless we sent it
 * (then the key is already ours and may name someone else's message, as a group admin's revoke does).
 */
export function resolveTarget(
  kind: MessageKind,
  targetKey: Record<string, unknown> | null,
  carrier: MessageKeyInfo,
): MessageKeyRef | null {
  const id = targetKey === null ? null : nonEmpty(targetKey.id);
  if (targetKey === null || id === null) return null;
  if (kind === 'reaction') {
    return { remoteJid: nonEmpty(targetKey.remoteJid) ?? carrier.remoteJid, id, fromMe: targetKey.fromMe === true };
  }
  const fromMe = kind === 'revoke' && carrier.fromMe ? targetKey.fromMe === true : carrier.fromMe;
  return { remoteJid: carrier.remoteJid, id, fromMe };
}
