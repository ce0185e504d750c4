import { describe, expect, it } from 'vitest';
import { extractContent } from './message-content.js';
import type { MediaInfo } from './message.types.js';

function media(fields: Partial<MediaInfo>): MediaInfo {
  const none = { mimetype: null, fileLength: null, seconds: null, fileName: null };
  return { ...none, width: null, height: null, url: null, directPath: null, ...fields };
}

describe('extractContent: kinds', () => {
  it('contactsArrayMessage → one card per contact', () => {
    expect(
      extractContent({
        contactsArrayMessage: {
          displayName: '2 contacts',
          contacts: [
            { displayName: 'Avi', vcard: 'BEGIN:VCARD\nFN:Avi\nEND:VCARD' },
            { displayName: 'Noa', vcard: 'BEGIN:VCARD\nFN:Noa\nEND:VCARD' },
          ],
        },
      }),
    ).toEqual({
      kind: 'contact',
      contentType: 'contactsArrayMessage',
      text: null,
      media: null,
      location: null,
      contacts: [
        { displayName: 'Avi', vcard: 'BEGIN:VCARD\nFN:Avi\nEND:VCARD' },
        { displayName: 'Noa', vcard: 'BEGIN:VCARD\nFN:Noa\nEND:VCARD' },
      ],
      targetKey: null,
      quotedMessageId: null,
    });
  });

  it.each(['pollCreationMessage', 'pollCreationMessageV2', 'pollCreationMessageV3'])('%s → poll, name as text', (key) => {
    const content = extractContent({
      [key]: { name: 'Which slot?', options: [{ optionName: '10:30' }, { optionName: '11:00' }], selectableOptionsCount: 1 },
      messageContextInfo: { messageSecret: { type: 'Buffer', data: 'c2VjcmV0' } },
    });
    expect(content).toMatchObject({ kind: 'poll', contentType: key, text: 'Which slot?', media: null });
  });

  it('liveLocationMessage → location, caption as text', () => {
    const content = extractContent({
      liveLocationMessage: { degreesLatitude: 31.7683, degreesLongitude: 35.2137, caption: 'On my way', sequenceNumber: '3' },
    });
    expect(content).toMatchObject({
      kind: 'location',
      contentType: 'liveLocationMessage',
      text: 'On my way',
      location: { latitude: 31.7683, longitude: 35.2137, name: null, address: null },
    });
  });

  it('locationMessage at 0,0 (proto2 omits default doubles)', () => {
    expect(extractContent({ locationMessage: { name: 'Null Island' } })?.location).toEqual({
      latitude: 0,
      longitude: 0,
      name: 'Null Island',
      address: null,
    });
  });

  it('videoMessage: caption as text, quoted reply, media without binary fields', () => {
    const content = extractContent({
      videoMessage: {
        url: 'https://mmg.whatsapp.net/v/t62.7161-24/vid.enc',
        mimetype: 'video/mp4',
        caption: 'Walkthrough',
        seconds: 42,
        width: 720,
        height: 1280,
        fileLength: '3456789',
        mediaKey: { type: 'Buffer', data: 'AAEC' },
        jpegThumbnail: { type: 'Buffer', data: [255, 216] },
        contextInfo: { stanzaId: '3EB0QUOTED0000000001', participant: '972501234567@s.whatsapp.net' },
      },
    });
    expect(content).toMatchObject({ kind: 'video', contentType: 'videoMessage', text: 'Walkthrough', quotedMessageId: '3EB0QUOTED0000000001' });
    expect(content?.media).toEqual(
      media({
        url: 'https://mmg.whatsapp.net/v/t62.7161-24/vid.enc',
        mimetype: 'video/mp4',
        seconds: 42,
        width: 720,
        height: 1280,
        fileLength: 3456789,
      }),
    );
  });

  it('ptvMessage (round video note) → video', () => {
    expect(extractContent({ ptvMessage: { mimetype: 'video/mp4', seconds: 9 } })).toMatchObject({
      kind: 'video',
      contentType: 'ptvMessage',
      media: media({ mimetype: 'video/mp4', seconds: 9 }),
    });
  });

  it('audioMessage without ptt → audio', () => {
    expect(extractContent({ audioMessage: { mimetype: 'audio/mpeg', seconds: 180, ptt: false } })).toMatchObject({
      kind: 'audio',
      text: null,
      media: media({ mimetype: 'audio/mpeg', seconds: 180 }),
    });
  });

  it('an unknown content key → unsupported, named by contentType', () => {
    expect(extractContent({ eventMessage: { name: 'Launch party' }, messageContextInfo: {} })).toMatchObject({
      kind: 'unsupported',
      contentType: 'eventMessage',
      text: null,
      media: null,
    });
  });

  it('prefers a known content key over an unknown sibling, and skips null-valued keys', () => {
    expect(extractContent({ conversation: null, someFutureRider: { x: 1 }, imageMessage: { caption: 'hi' } })).toMatchObject({
      kind: 'image',
      contentType: 'imageMessage',
      text: 'hi',
    });
  });
});

describe('extractContent: wrappers', () => {
  const inner = { videoMessage: { caption: 'once' } };
  it.each([
    ['viewOnceMessage', { viewOnceMessage: { message: inner } }],
    ['viewOnceMessageV2Extension', { viewOnceMessageV2Extension: { message: inner } }],
    ['deviceSentMessage', { deviceSentMessage: { destinationJid: '972501234567@s.whatsapp.net', message: inner } }],
    ['ephemeral → viewOnce', { ephemeralMessage: { message: { viewOnceMessage: { message: inner } } } }],
    ['a wrapper beside messageContextInfo', { messageContextInfo: {}, viewOnceMessageV2: { message: inner } }],
  ])('unwraps %s', (_name, message) => {
    expect(extractContent(message)).toMatchObject({ kind: 'video', contentType: 'videoMessage', text: 'once' });
  });

  it('a wrapper with nothing inside → null', () => {
    expect(extractContent({ ephemeralMessage: { message: { messageContextInfo: {} } } })).toBeNull();
    expect(extractContent({ ephemeralMessage: {} })).toBeNull();
  });
});

describe('extractContent: reactions, revokes and edits', () => {
  const key = { remoteJid: '972501234567@s.whatsapp.net', fromMe: true, id: '3EB0F00DBEEF00112233' };

  it('a removed reaction has empty text', () => {
    expect(extractContent({ reactionMessage: { key, text: '' } })).toMatchObject({ kind: 'reaction', text: '', targetKey: key });
    expect(extractContent({ reactionMessage: { key } })).toMatchObject({ kind: 'reaction', text: '', targetKey: key });
  });

  it('a revoke carries its key', () => {
    expect(extractContent({ protocolMessage: { type: 0, key } })).toMatchObject({ kind: 'revoke', text: null, targetKey: key });
  });

  it.each([
    ['conversation', { conversation: 'new text' }],
    ['extendedTextMessage', { extendedTextMessage: { text: 'new text' } }],
    ['a new image caption', { imageMessage: { caption: 'new text' } }],
  ])('edit text from %s', (_name, editedMessage) => {
    expect(extractContent({ protocolMessage: { type: 14, key, editedMessage } })).toMatchObject({
      kind: 'edit',
      contentType: 'protocolMessage',
      text: 'new text',
      targetKey: key,
    });
  });

  it('protocol types given by enum name', () => {
    expect(extractContent({ protocolMessage: { type: 'REVOKE', key } })?.kind).toBe('revoke');
    expect(extractContent({ protocolMessage: { type: 'MESSAGE_EDIT', key, editedMessage: { conversation: 'x' } } })?.kind).toBe('edit');
  });
});

describe('extractContent: nothing to store → null', () => {
  it.each([
    ['protocolMessage type 3 (ephemeral setting)', { protocolMessage: { type: 3, ephemeralExpiration: 86400 } }],
    ['protocolMessage type 5 (history sync)', { protocolMessage: { type: 5, historySyncNotification: {} } }],
    ['protocolMessage by another enum name', { protocolMessage: { type: 'HISTORY_SYNC_NOTIFICATION' } }],
    ['protocolMessage without a type', { protocolMessage: { key: { id: 'X' } } }],
    [
      'senderKeyDistributionMessage only',
      {
        senderKeyDistributionMessage: {
          groupId: '120363041234567890@g.us',
          axolotlSenderKeyDistributionMessage: { type: 'Buffer', data: 'MwgAEiEF' },
        },
        messageContextInfo: { deviceListMetadataVersion: 2 },
      },
    ],
    ['messageContextInfo only', { messageContextInfo: { deviceListMetadataVersion: 2 } }],
    ['an empty message', {}],
    ['no message', undefined],
    ['a non-object message', 'hello'],
  ])('%s', (_name, message) => {
    expect(extractContent(message)).toBeNull();
  });
});
