/** The shared Baileys webhook bodies, read from `<repo>/../shared/fixtures/baileys`. */
import { readFileSync } from 'node:fs';
import type { NormalizedMessage } from '../../src/whatsapp/message.types.js';

export const FIXTURE_FILES = [
  'upsert-text.json',
  'upsert-two-lid-and-group.json',
  'upsert-voice-note.json',
  'upsert-wrapped-and-misc.json',
  'upsert-ciphertext-stub.json',
  'update-receipts.json',
  'receipt-group.json',
] as const;

export type FixtureFile = (typeof FIXTURE_FILES)[number];

export function fixtureText(file: FixtureFile): string {
  return readFileSync(new URL(`../../../shared/fixtures/baileys/${file}`, import.meta.url), 'utf8');
}

/** The fixture as an object, with its tenant replaced. */
export function fixtureBody(file: FixtureFile, tenantId = 'acme'): Record<string, unknown> {
  const body = JSON.parse(fixtureText(file)) as Record<string, unknown>;
  return { ...body, tenantId };
}

/**
 * A one-message upsert body with the given ids, for tests that need many distinct messages. Its
 * timestamp is a year old unless given (`nowSeconds()`): old messages are stored but never answered,
 * so tests about storage do not also exercise replies.
 */
export function textMessageBody(options: {
  tenantId?: string;
  id: string;
  remoteJid?: string;
  participant?: string;
  text?: string;
  fromMe?: boolean;
  timestamp?: number;
  pushName?: string;
}) {
  return {
    tenantId: options.tenantId ?? 'acme',
    event: 'messages.upsert',
    payload: {
      type: 'notify',
      messages: [
        {
          key: {
            remoteJid: options.remoteJid ?? '972501234567@s.whatsapp.net',
            fromMe: options.fromMe ?? false,
            id: options.id,
            ...(options.participant ? { participant: options.participant } : {}),
          },
          messageTimestamp: options.timestamp ?? 1764480000,
          pushName: options.pushName ?? 'Dana',
          message: { conversation: options.text ?? 'Hello' },
        },
      ],
    },
  };
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** A plain inbound text message from a 1:1 chat, as `normalizeMessage` returns it. */
export function normalizedTextMessage(waMessageId: string, remoteJid = '4915100000001@s.whatsapp.net'): NormalizedMessage {
  return {
    waMessageId,
    remoteJid,
    fromMe: false,
    chatType: 'direct',
    participant: null,
    senderJid: remoteJid,
    senderPhone: remoteJid.split('@')[0] ?? null,
    pushName: 'Pat',
    kind: 'text',
    text: 'Hello, do you deliver on Sundays?',
    media: null,
    location: null,
    contacts: null,
    target: null,
    quotedMessageId: null,
    contentType: 'conversation',
    sentAt: new Date('2026-11-30T10:00:00Z'),
    status: null,
  };
}
