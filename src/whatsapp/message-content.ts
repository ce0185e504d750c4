/**
 * The content half of normalisation: find what a Baileys `proto.Message` actually says (past its
 * wrappers and its key-exchange riders) and turn it into a kind, a text and the kind's details.
 * Identity, sender and chat come from the `WAMessage` around it (see normalize-message.ts).
 */
import { isRecord, toNumber } from './baileys-values.js';
import type { ContactCard, LocationInfo, MediaInfo, MessageKind } from './message.types.js';

export interface MessageContent {
  kind: MessageKind;
  /** The Baileys content key the kind came from, after unwrapping. */
  contentType: string;
  text: string | null;
  media: MediaInfo | null;
  location: LocationInfo | null;
  contacts: ContactCard[] | null;
  /** For reaction, revoke and edit: the raw key naming the message acted upon, as Baileys gave it. */
  targetKey: Record<string, unknown> | null;
  quotedMessageId: string | null;
}

/** Keys that hold another `proto.Message` under `.message` rather than content of their own. */
const WRAPPER_KEYS = new Set([
  'ephemeralMessage',
  'viewOnceMessage',
  'viewOnceMessageV2',
  'viewOnceMessageV2Extension',
  'documentWithCaptionMessage',
  'editedMessage',
  'deviceSentMessage',
]);

/**
 * Signal key exchange and per-message metadata ride beside the real content in the same object;
 * a message made only of them is a key handshake, not something a person sent.
 */
const NON_CONTENT_KEYS = new Set([
  'senderKeyDistributionMessage',
  'fastRatchetKeySenderKeyDistributionMessage',
  'messageContextInfo',
]);

// Real payloads are one or two wrappers deep; the cap only stops hostile nesting.
const MAX_WRAPPER_DEPTH = 8;

const PROTOCOL_REVOKE = 0;
const PROTOCOL_MESSAGE_EDIT = 14;
// Gateways that serialise protobuf enums by name send these instead of the numbers.
const PROTOCOL_TYPE_NAMES: Record<string, number> = { REVOKE: PROTOCOL_REVOKE, MESSAGE_EDIT: PROTOCOL_MESSAGE_EDIT };

type Details = Omit<MessageContent, 'contentType' | 'quotedMessageId'>;
type Extractor = (value: Record<string, unknown>) => Details | null;

const EMPTY: Omit<Details, 'kind'> = { text: null, media: null, location: null, contacts: null, targetKey: null };

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

/** For optional metadata, where an empty string means "not set" rather than a value. */
function nonEmpty(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

function mediaInfo(m: Record<string, unknown>): MediaInfo {
  // Picked field by field so the binary fields (mediaKey, fileSha256, jpegThumbnail, waveform…) never leak.
  return {
    mimetype: nonEmpty(m.mimetype),
    fileLength: toNumber(m.fileLength),
    seconds: toNumber(m.seconds),
    fileName: nonEmpty(m.fileName),
    width: toNumber(m.width),
    height: toNumber(m.height),
    url: nonEmpty(m.url),
    directPath: nonEmpty(m.directPath),
  };
}

function media(kind: MessageKind, captioned: boolean): Extractor {
  return (m) => ({ ...EMPTY, kind, text: captioned ? str(m.caption) : null, media: mediaInfo(m) });
}

function location(captionField: 'comment' | 'caption'): Extractor {
  return (m) => ({
    ...EMPTY,
    kind: 'location',
    text: nonEmpty(m[captionField]),
    location: {
      // proto2 omits a double that equals its default, so an absent coordinate is the equator/meridian.
      latitude: toNumber(m.degreesLatitude) ?? 0,
      longitude: toNumber(m.degreesLongitude) ?? 0,
      name: nonEmpty(m.name),
      address: nonEmpty(m.address),
    },
  });
}

function contactCard(c: Record<string, unknown>): ContactCard {
  return { displayName: nonEmpty(c.displayName), vcard: nonEmpty(c.vcard) };
}

function poll(m: Record<string, unknown>): Details {
  return { ...EMPTY, kind: 'poll', text: str(m.name) };
}

function protocolType(v: unknown): number | null {
  return typeof v === 'string' && v in PROTOCOL_TYPE_NAMES ? (PROTOCOL_TYPE_NAMES[v] ?? null) : toNumber(v);
}

function protocol(m: Record<string, unknown>): Details | null {
  const type = protocolType(m.type);
  const targetKey = isRecord(m.key) ? m.key : null;
  if (type === PROTOCOL_REVOKE) return { ...EMPTY, kind: 'revoke', targetKey };
  if (type === PROTOCOL_MESSAGE_EDIT) {
    // The new content is a whole proto.Message (text, extended text or a re-captioned media).
    const text = extractContent(m.editedMessage)?.text ?? null;
    return { ...EMPTY, kind: 'edit', text, targetKey };
  }
  // History sync, app-state keys, ephemeral settings…: device bookkeeping, not chat content.
  return null;
}

const EXTRACTORS: Record<string, Extractor> = {
  extendedTextMessage: (m) => ({ ...EMPTY, kind: 'text', text: str(m.text) }),
  imageMessage: media('image', true),
  videoMessage: media('video', true),
  ptvMessage: media('video', true),
  audioMessage: (m) => media(m.ptt === true ? 'voice' : 'audio', false)(m),
  documentMessage: media('document', true),
  stickerMessage: media('sticker', false),
  locationMessage: location('comment'),
  liveLocationMessage: location('caption'),
  contactMessage: (m) => ({ ...EMPTY, kind: 'contact', contacts: [contactCard(m)] }),
  contactsArrayMessage: (m) => ({
    ...EMPTY,
    kind: 'contact',
    contacts: Array.isArray(m.contacts) ? m.contacts.filter(isRecord).map(contactCard) : [],
  }),
  // A removed reaction arrives with an empty or absent text; '' is how the type spells "removed".
  reactionMessage: (m) => ({ ...EMPTY, kind: 'reaction', text: str(m.text) ?? '', targetKey: isRecord(m.key) ? m.key : null }),
  protocolMessage: protocol,
  pollCreationMessage: poll,
  pollCreationMessageV2: poll,
  pollCreationMessageV3: poll,
};

/** The content key to read, preferring one we understand over an unknown sibling. */
function contentEntry(message: Record<string, unknown>): [string, unknown] | null {
  let unknownEntry: [string, unknown] | null = null;
  for (const [key, value] of Object.entries(message)) {
    // Some serialisers write unset proto fields as null; they are not content.
    if (NON_CONTENT_KEYS.has(key) || value === null || value === undefined) continue;
    if (key === 'conversation' || key in EXTRACTORS || WRAPPER_KEYS.has(key)) return [key, value];
    unknownEntry ??= [key, value];
  }
  return unknownEntry;
}

/** Peel wrappers off until a content key remains; null when nothing is left. */
function unwrap(message: unknown): [string, unknown] | null {
  let current = message;
  for (let depth = 0; depth <= MAX_WRAPPER_DEPTH; depth++) {
    if (!isRecord(current)) return null;
    const entry = contentEntry(current);
    if (entry === null || !WRAPPER_KEYS.has(entry[0])) return entry;
    current = isRecord(entry[1]) ? entry[1].message : undefined;
  }
  return null;
}

/**
 * What a raw `proto.Message` carries, or null when it carries nothing worth storing (no content, only
 * key-exchange riders, or a protocol message other than a revoke or an edit).
 */
export function extractContent(message: unknown): MessageContent | null {
  const entry = unwrap(message);
  if (entry === null) return null;
  const [contentType, value] = entry;

  if (contentType === 'conversation') {
    return { ...EMPTY, kind: 'text', contentType, text: str(value), quotedMessageId: null };
  }

  const fields = isRecord(value) ? value : {};
  const extractor = EXTRACTORS[contentType];
  const details: Details | null = extractor ? extractor(fields) : { ...EMPTY, kind: 'unsupported' };
  if (details === null) return null;

  const contextInfo = fields.contextInfo;
  const quotedMessageId = isRecord(contextInfo) ? nonEmpty(contextInfo.stanzaId) : null;
  return { ...details, contentType, quotedMessageId };
}
