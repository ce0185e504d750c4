/**
 * Glossary
 * - message identity: (tenantId, remoteJid, waMessageId, fromMe); unique per stored message.
 * - jid: a WhatsApp address. `…@s.whatsapp.net` is a phone number, `…@lid` an opaque "linked identity"
 *   (its phone, when known, arrives beside it as `remoteJidAlt` / `participantAlt`), `…@g.us` a group,
 *   `status@broadcast` the stories feed, `…@newsletter` a channel.
 * - target: the message a reaction, revoke or edit refers to.
 *
 * These are the shapes the worker stores; `normalizeMessage` turns a raw Baileys `WAMessage` into one.
 */

export type ChatType = 'direct' | 'group' | 'status' | 'newsletter' | 'broadcast';

export type MessageKind =
  | 'text'
  | 'image'
  | 'video'
  | 'audio'
  | 'voice'
  | 'document'
  | 'sticker'
  | 'location'
  | 'contact'
  | 'reaction'
  | 'revoke'
  | 'edit'
  | 'poll'
  | 'unsupported';

export interface MessageKeyRef {
  remoteJid: string;
  id: string;
  fromMe: boolean;
}

export interface MediaInfo {
  mimetype: string | null;
  fileLength: number | null;
  seconds: number | null;
  fileName: string | null;
  width: number | null;
  height: number | null;
  url: string | null;
  directPath: string | null;
}

export interface LocationInfo {
  latitude: number;
  longitude: number;
  name: string | null;
  address: string | null;
}

export interface ContactCard {
  displayName: string | null;
  vcard: string | null;
}

export interface NormalizedMessage {
  waMessageId: string;
  remoteJid: string;
  fromMe: boolean;
  chatType: ChatType;
  /** The author inside a group or a story; null in a 1:1 chat. */
  participant: string | null;
  /** Who wrote the message: `participant` in groups and stories, `remoteJid` in 1:1 chats. */
  senderJid: string;
  /** The sender's phone in E.164 digits (no `+`), from the jid itself or from its `…Alt` twin. */
  senderPhone: string | null;
  pushName: string | null;
  kind: MessageKind;
  /** The text, or a media caption; for an edit, the new text; for a reaction, the emoji ('' = removed). */
  text: string | null;
  media: MediaInfo | null;
  location: LocationInfo | null;
  contacts: ContactCard[] | null;
  /** For reaction, revoke and edit: the message acted upon. */
  target: MessageKeyRef | null;
  quotedMessageId: string | null;
  /** The Baileys content key the kind came from (e.g. `extendedTextMessage`), for diagnostics. */
  contentType: string | null;
  sentAt: Date;
  /** Baileys' `status` for `fromMe` messages (0 ERROR … 5 PLAYED), when present. */
  status: number | null;
}
