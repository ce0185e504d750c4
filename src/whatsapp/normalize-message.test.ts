import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isRecord } from './baileys-values.js';
import { normalizeMessage } from './normalize-message.js';
import type { MediaInfo, NormalizedMessage } from './message.types.js';

// Content details and key handling have their own suites (message-content, message-key); this one
// runs every fixture message end to end and checks what normalizeMessage itself decides.

// Relative to this file so a clone elsewhere finds the `shared/` checkout that sits beside it.
const FIXTURES = new URL('../../../shared/fixtures/baileys/', import.meta.url);

function upsertMessages(file: string): unknown[] {
  const body: unknown = JSON.parse(readFileSync(new URL(file, FIXTURES), 'utf8'));
  if (!isRecord(body) || body.event !== 'messages.upsert' || !isRecord(body.payload)) {
    throw new Error(`${file} is not a messages.upsert body`);
  }
  const { messages } = body.payload;
  if (!Array.isArray(messages)) throw new Error(`${file} has no payload.messages array`);
  return messages;
}

const DANA = '972501234567@s.whatsapp.net';

type Specific = Pick<NormalizedMessage, 'kind' | 'contentType'> & Partial<NormalizedMessage>;

/** A message from Dana in her 1:1 chat, carrying only what `specific` adds. */
function fromDana(waMessageId: string, sentAtSeconds: number, specific: Specific): NormalizedMessage {
  return {
    waMessageId,
    remoteJid: DANA,
    fromMe: false,
    chatType: 'direct',
    participant: null,
    senderJid: DANA,
    senderPhone: '972501234567',
    pushName: 'Dana',
    text: null,
    media: null,
    location: null,
    contacts: null,
    target: null,
    quotedMessageId: null,
    sentAt: new Date(sentAtSeconds * 1000),
    status: null,
    ...specific,
  };
}

function media(fields: Partial<MediaInfo>): MediaInfo {
  const none = { mimetype: null, fileLength: null, seconds: null, fileName: null };
  return { ...none, width: null, height: null, url: null, directPath: null, ...fields };
}

describe('normalizeMessage: fixtures', () => {
  it('upsert-text.json: plain 1:1 text, messageContextInfo ignored', () => {
    const messages = upsertMessages('upsert-text.json');
    expect(messages).toHaveLength(1);
    expect(normalizeMessage(messages[0])).toEqual(
      fromDana('3EB0C767D26A1D5F1A2B', 1764480000, {
        kind: 'text',
        contentType: 'conversation',
        text: 'Hi, is the appointment tomorrow still on?',
      }),
    );
  });

  it('upsert-ciphertext-stub.json: decryption placeholder → null', () => {
    const messages = upsertMessages('upsert-ciphertext-stub.json');
    expect(messages).toHaveLength(1);
    expect(normalizeMessage(messages[0])).toBeNull();
  });

  it('upsert-voice-note.json: ptt audio → voice, string fileLength, no binary fields', () => {
    const messages = upsertMessages('upsert-voice-note.json');
    expect(messages).toHaveLength(1);
    const normalized = normalizeMessage(messages[0]);
    expect(normalized).toEqual(
      fromDana('3EB0D1E2F3A4B5C6D7E8', 1764480100, {
        kind: 'voice',
        contentType: 'audioMessage',
        media: media({
          mimetype: 'audio/ogg; codecs=opus',
          fileLength: 11234,
          seconds: 7,
          url: 'https://mmg.whatsapp.net/v/t62.7117-24/abc.enc',
          directPath: '/v/t62.7117-24/abc.enc',
        }),
      }),
    );
    expect(JSON.stringify(normalized)).not.toContain('Buffer');
  });

  describe('upsert-two-lid-and-group.json', () => {
    const messages = upsertMessages('upsert-two-lid-and-group.json');

    it('holds the two messages covered below', () => {
      expect(messages).toHaveLength(2);
    });

    it('1:1 @lid sender: phone from remoteJidAlt, quoted reply id from contextInfo', () => {
      expect(normalizeMessage(messages[0])).toEqual(
        fromDana('3EB0C1A2B3C4D5E6F70812', 1767772800, {
          kind: 'text',
          contentType: 'extendedTextMessage',
          remoteJid: '203445566778899@lid',
          senderJid: '203445566778899@lid',
          senderPhone: '972501234567',
          text: 'Is the 10:30 slot tomorrow still free?',
          quotedMessageId: '3EB0AA11BB22CC33DD44',
        }),
      );
    });

    it('group image beside a senderKeyDistributionMessage: Long fileLength, string timestamp, participantAlt phone', () => {
      const normalized = normalizeMessage(messages[1]);
      expect(normalized).toEqual(
        fromDana('A5F1E2D3C4B5A6978899', 1767772805, {
          kind: 'image',
          contentType: 'imageMessage',
          remoteJid: '120363041234567890@g.us',
          chatType: 'group',
          participant: '112233445566778@lid',
          senderJid: '112233445566778@lid',
          senderPhone: '972521112233',
          pushName: 'Yossi',
          text: 'Photo of the invoice',
          media: media({
            mimetype: 'image/jpeg',
            fileLength: 48213,
            width: 960,
            height: 1280,
            url: 'https://mmg.whatsapp.net/v/t62.7118-24/12345_67890_n.enc?ccb=11-4',
            directPath: '/v/t62.7118-24/12345_67890_n.enc?ccb=11-4',
          }),
        }),
      );
      // mediaKey, fileSha256 and jpegThumbnail (Buffer JSON) must not ride along anywhere.
      expect(JSON.stringify(normalized)).not.toContain('Buffer');
    });
  });

  describe('upsert-wrapped-and-misc.json', () => {
    const messages = upsertMessages('upsert-wrapped-and-misc.json');
    const normalized = (i: number): NormalizedMessage | null => normalizeMessage(messages[i]);

    it('holds the eleven messages covered below', () => {
      expect(messages).toHaveLength(11);
    });

    it('ephemeralMessage wrapper → text', () => {
      expect(normalized(0)).toEqual(
        fromDana('3EB0E0000000000000A1', 1764480200, {
          kind: 'text',
          contentType: 'extendedTextMessage',
          text: 'Sent while you were offline',
        }),
      );
    });

    it('viewOnceMessageV2 wrapper → image with caption', () => {
      expect(normalized(1)).toEqual(
        fromDana('3EB0E0000000000000A2', 1764480201, {
          kind: 'image',
          contentType: 'imageMessage',
          text: 'view once',
          media: media({ mimetype: 'image/jpeg' }),
        }),
      );
    });

    it('documentWithCaptionMessage wrapper → document, caption as text, fileName in media', () => {
      expect(normalized(2)).toEqual(
        fromDana('3EB0E0000000000000A3', 1764480202, {
          kind: 'document',
          contentType: 'documentMessage',
          text: 'Here is the quote',
          media: media({ mimetype: 'application/pdf', fileName: 'quote.pdf' }),
        }),
      );
    });

    it('locationMessage → location', () => {
      expect(normalized(3)).toEqual(
        fromDana('3EB0E0000000000000A4', 1764480203, {
          kind: 'location',
          contentType: 'locationMessage',
          location: { latitude: 32.0853, longitude: 34.7818, name: 'Office', address: 'Rothschild Blvd 1, Tel Aviv' },
        }),
      );
    });

    it('contactMessage → one contact card', () => {
      const vcard = 'BEGIN:VCARD\nVERSION:3.0\nFN:Avi\nTEL;type=CELL;waid=972541112222:+972 54-111-2222\nEND:VCARD';
      expect(normalized(4)).toEqual(
        fromDana('3EB0E0000000000000A5', 1764480204, {
          kind: 'contact',
          contentType: 'contactMessage',
          contacts: [{ displayName: 'Avi', vcard }],
        }),
      );
    });

    it('stickerMessage → sticker', () => {
      expect(normalized(5)).toEqual(
        fromDana('3EB0E0000000000000A6', 1764480205, {
          kind: 'sticker',
          contentType: 'stickerMessage',
          media: media({ mimetype: 'image/webp' }),
        }),
      );
    });

    it('reactionMessage → reaction with the emoji, targeting our message', () => {
      expect(normalized(6)).toEqual(
        fromDana('3EB0E0000000000000A7', 1764480206, {
          kind: 'reaction',
          contentType: 'reactionMessage',
          text: '👍',
          target: { remoteJid: DANA, id: '3EB0F00DBEEF00112233', fromMe: true },
        }),
      );
    });

    it('protocolMessage type 0 → revoke of her earlier text', () => {
      expect(normalized(7)).toEqual(
        fromDana('3EB0E0000000000000A8', 1764480207, {
          kind: 'revoke',
          contentType: 'protocolMessage',
          target: { remoteJid: DANA, id: '3EB0C767D26A1D5F1A2B', fromMe: false },
        }),
      );
    });

    it('editedMessage wrapper around protocolMessage type 14 → edit with the new text', () => {
      expect(normalized(8)).toEqual(
        fromDana('3EB0E0000000000000A9', 1764480208, {
          kind: 'edit',
          contentType: 'protocolMessage',
          text: 'Sent while you were offline (edited)',
          target: { remoteJid: DANA, id: '3EB0E0000000000000A1', fromMe: false },
        }),
      );
    });

    it('fromMe text typed on the phone: status kept, no pushName, sender stays the chat jid', () => {
      expect(normalized(9)).toEqual(
        fromDana('3EB0E0000000000000B1', 1764480209, {
          kind: 'text',
          contentType: 'conversation',
          fromMe: true,
          pushName: null,
          text: 'Typed by a person on the business phone',
          status: 2,
        }),
      );
    });

    it('status@broadcast story: participant is the author', () => {
      expect(normalized(10)).toEqual(
        fromDana('3EB0E0000000000000C1', 1764480210, {
          kind: 'image',
          contentType: 'imageMessage',
          remoteJid: 'status@broadcast',
          chatType: 'status',
          participant: '972507777777@s.whatsapp.net',
          senderJid: '972507777777@s.whatsapp.net',
          senderPhone: '972507777777',
          pushName: 'Noa',
          text: 'my status',
          media: media({ mimetype: 'image/jpeg' }),
        }),
      );
    });
  });
});

/** A minimal raw WAMessage from Dana around `message`, with `extra` top-level fields. */
function rawFromDana(message: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { key: { remoteJid: DANA, fromMe: false, id: 'HAND01' }, messageTimestamp: 1764480500, message, ...extra };
}

describe('normalizeMessage: hand-written', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it.each([
    ['protocolMessage type 3 (ephemeral setting)', { protocolMessage: { type: 3, ephemeralExpiration: 86400 } }],
    ['senderKeyDistributionMessage only', { senderKeyDistributionMessage: { groupId: 'g' }, messageContextInfo: {} }],
    ['a revoke naming no message', { protocolMessage: { type: 0 } }],
    ['a reaction naming no message', { reactionMessage: { text: '👍' } }],
  ])('%s → null', (_name, message) => {
    expect(normalizeMessage(rawFromDana(message))).toBeNull();
  });

  it('a Long timestamp with high bits clear, and a Long fileLength with them set', () => {
    const normalized = normalizeMessage(
      rawFromDana(
        { documentMessage: { fileName: 'backup.zip', fileLength: { low: -1294967296, high: 1, unsigned: true } } },
        { messageTimestamp: { low: 1764480500, high: 0, unsigned: true } },
      ),
    );
    // high 1 → 2^32; the low half, written signed, is 3_000_000_000 as the unsigned 32 bits it stands for.
    expect(normalized?.media?.fileLength).toBe(2 ** 32 + 3_000_000_000);
    expect(normalized?.sentAt).toEqual(new Date(1764480500 * 1000));
  });

  it('an unknown content key → unsupported, named by contentType', () => {
    expect(normalizeMessage(rawFromDana({ eventMessage: { name: 'Launch' } }))).toMatchObject({
      kind: 'unsupported',
      contentType: 'eventMessage',
      text: null,
    });
  });

  it.each([undefined, 0, '0'])('a timestamp of %j means "now"', (messageTimestamp) => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2026-01-02T03:04:05Z'));
    const normalized = normalizeMessage(rawFromDana({ conversation: 'x' }, { messageTimestamp }));
    expect(normalized?.sentAt).toEqual(new Date('2026-01-02T03:04:05Z'));
  });

  it('an empty pushName and a non-numeric status become null', () => {
    const normalized = normalizeMessage(rawFromDana({ conversation: 'x' }, { pushName: '', status: 'READ' }));
    expect(normalized).toMatchObject({ pushName: null, status: null });
  });

  it.each([
    ['not an object', 'hello', /key/],
    ['no key', { message: { conversation: 'x' } }, /key/],
    ['no key.id', { key: { remoteJid: DANA } }, /key\.id/],
    ['a numeric key.id', { key: { remoteJid: DANA, id: 42 } }, /key\.id/],
    ['no key.remoteJid', { key: { id: 'X1' } }, /key\.remoteJid/],
  ])('throws a TypeError for %s', (_name, raw, message) => {
    expect(() => normalizeMessage(raw)).toThrow(TypeError);
    expect(() => normalizeMessage(raw)).toThrow(message);
  });
});
