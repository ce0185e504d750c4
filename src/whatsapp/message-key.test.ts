import { describe, expect, it } from 'vitest';
import { chatTypeOf, readMessageKey, resolveTarget } from './message-key.js';
import type { MessageKeyInfo } from './message-key.js';

const DANA = '972501234567@s.whatsapp.net';
const GROUP = '120363041234567890@g.us';

describe('chatTypeOf', () => {
  it.each([
    [GROUP, 'group'],
    ['status@broadcast', 'status'],
    ['120363400000000000@newsletter', 'newsletter'],
    ['1764480000@broadcast', 'broadcast'],
    [DANA, 'direct'],
    ['203445566778899@lid', 'direct'],
  ])('%s → %s', (remoteJid, chatType) => {
    expect(chatTypeOf(remoteJid)).toBe(chatType);
  });
});

describe('readMessageKey', () => {
  it('1:1: ignores a stray key.participant; the peer is the sender', () => {
    expect(readMessageKey({ key: { remoteJid: DANA, id: 'P1', participant: '972500000001@s.whatsapp.net' } })).toEqual({
      id: 'P1',
      remoteJid: DANA,
      fromMe: false,
      chatType: 'direct',
      participant: null,
      senderJid: DANA,
      senderPhone: '972501234567',
    });
  });

  it('a phone jid with a device suffix yields the bare digits', () => {
    const key = readMessageKey({ key: { remoteJid: GROUP, id: 'P2', participant: '972521112233:7@s.whatsapp.net' } });
    expect(key).toMatchObject({ participant: '972521112233:7@s.whatsapp.net', senderPhone: '972521112233' });
  });

  it('a group @lid sender takes its phone from participantAlt, never from remoteJidAlt', () => {
    const lid = '112233445566778@lid';
    expect(readMessageKey({ key: { remoteJid: GROUP, id: 'P3', participant: lid, participantAlt: '972521112233@s.whatsapp.net' } }).senderPhone).toBe(
      '972521112233',
    );
    expect(readMessageKey({ key: { remoteJid: GROUP, id: 'P4', participant: lid, remoteJidAlt: DANA } }).senderPhone).toBeNull();
  });

  it('a 1:1 @lid peer without a phone twin has no phone', () => {
    expect(readMessageKey({ key: { remoteJid: '203445566778899@lid', id: 'P5' } }).senderPhone).toBeNull();
  });

  it('a group with no participant falls back to the group jid as sender', () => {
    expect(readMessageKey({ key: { remoteJid: GROUP, id: 'P6', fromMe: true } })).toMatchObject({
      fromMe: true,
      participant: null,
      senderJid: GROUP,
      senderPhone: null,
    });
  });

  it('a broadcast-list message is attributed to its participant', () => {
    expect(readMessageKey({ key: { remoteJid: '1764480000@broadcast', id: 'P7', participant: DANA } })).toMatchObject({
      chatType: 'broadcast',
      senderJid: DANA,
      senderPhone: '972501234567',
    });
  });
});

describe('resolveTarget', () => {
  const fromDana: MessageKeyInfo = readMessageKey({ key: { remoteJid: DANA, fromMe: false, id: 'C1' } });
  const ourGroupMessage: MessageKeyInfo = readMessageKey({
    key: { remoteJid: GROUP, fromMe: true, id: 'C2', participant: '972500000001@s.whatsapp.net' },
  });

  it('a reaction key is taken as given (Baileys already put it in our perspective)', () => {
    expect(resolveTarget('reaction', { remoteJid: DANA, fromMe: true, id: 'R1' }, fromDana)).toEqual({
      remoteJid: DANA,
      id: 'R1',
      fromMe: true,
    });
  });

  it('a reaction key without remoteJid falls back to the chat', () => {
    expect(resolveTarget('reaction', { id: 'R2' }, fromDana)).toEqual({ remoteJid: DANA, id: 'R2', fromMe: false });
  });

  it("a peer's revoke keyed in its own perspective (our jid, fromMe) targets the peer's message", () => {
    const key = { remoteJid: '972500000001@s.whatsapp.net', fromMe: true, id: 'OLD1' };
    expect(resolveTarget('revoke', key, fromDana)).toEqual({ remoteJid: DANA, id: 'OLD1', fromMe: false });
  });

  it("a peer's edit targets the peer's message whatever the key says", () => {
    expect(resolveTarget('edit', { remoteJid: DANA, fromMe: false, id: 'E1' }, fromDana)).toEqual({
      remoteJid: DANA,
      id: 'E1',
      fromMe: false,
    });
  });

  it("our revoke of another member's group message keeps the key's fromMe", () => {
    const key = { remoteJid: GROUP, fromMe: false, id: 'THEIRS', participant: '112233445566778@lid' };
    expect(resolveTarget('revoke', key, ourGroupMessage)).toEqual({ remoteJid: GROUP, id: 'THEIRS', fromMe: false });
  });

  it('our edit targets our message', () => {
    expect(resolveTarget('edit', { remoteJid: GROUP, fromMe: true, id: 'MINE' }, ourGroupMessage)).toEqual({
      remoteJid: GROUP,
      id: 'MINE',
      fromMe: true,
    });
  });

  it('no key, or a key without an id, names nothing', () => {
    expect(resolveTarget('revoke', null, fromDana)).toBeNull();
    expect(resolveTarget('reaction', { remoteJid: DANA, fromMe: true }, fromDana)).toBeNull();
    expect(resolveTarget('edit', { id: '' }, fromDana)).toBeNull();
  });
});
