import { describe, expect, it } from 'vitest';
import { isBufferJson, isRecord, jidServer, jidUser, phoneFromJid, toNumber } from './baileys-values.js';

describe('toNumber', () => {
  it.each<[unknown, number | null]>([
    [1764480000, 1764480000],
    [0, 0],
    [-5, -5],
    ['11234', 11234],
    [' 42 ', 42],
    ['-7', -7],
    ['1.5', 1.5],
    [{ low: 48213, high: 0, unsigned: true }, 48213],
    [{ low: 1, high: 1, unsigned: true }, 2 ** 32 + 1],
    // A low half serialised signed still means its unsigned 32 bits.
    [{ low: -1, high: 0, unsigned: true }, 2 ** 32 - 1],
    [{ low: -1, high: -1, unsigned: false }, -1],
    [{ low: 0, high: -2, unsigned: false }, -2 * 2 ** 32],
    // An unsigned Long's high half is unsigned too.
    [{ low: 0, high: -1, unsigned: true }, (2 ** 32 - 1) * 2 ** 32],
    [{ low: 5, high: 0 }, 5],
  ])('%j → %s', (input, expected) => {
    expect(toNumber(input)).toBe(expected);
  });

  it.each<unknown>(['', 'abc', '12abc', '0x10', NaN, Infinity, null, undefined, true, {}, { low: 1 }, { low: 1.5, high: 0 }, [1]])(
    '%j → null',
    (input) => {
      expect(toNumber(input)).toBeNull();
    },
  );
});

describe('isBufferJson', () => {
  it('accepts base64 and byte-array data', () => {
    expect(isBufferJson({ type: 'Buffer', data: 'MwgAEiEF' })).toBe(true);
    expect(isBufferJson({ type: 'Buffer', data: [255, 216, 255] })).toBe(true);
    expect(isBufferJson({ type: 'Buffer', data: [] })).toBe(true);
  });

  it.each<unknown>([null, 'MwgAEiEF', { type: 'Buffer' }, { type: 'buffer', data: '' }, { type: 'Buffer', data: ['a'] }, { data: 'x' }])(
    'rejects %j',
    (input) => {
      expect(isBufferJson(input)).toBe(false);
    },
  );
});

describe('isRecord', () => {
  it('is true for plain objects only', () => {
    expect(isRecord({})).toBe(true);
    expect(isRecord([])).toBe(false);
    expect(isRecord(null)).toBe(false);
    expect(isRecord('x')).toBe(false);
  });
});

describe('jid helpers', () => {
  it.each([
    ['972501234567@s.whatsapp.net', '972501234567', 's.whatsapp.net'],
    ['972501234567:12@s.whatsapp.net', '972501234567', 's.whatsapp.net'],
    ['112233445566778@lid', '112233445566778', 'lid'],
    ['120363041234567890@g.us', '120363041234567890', 'g.us'],
    ['status@broadcast', 'status', 'broadcast'],
    ['no-server', 'no-server', null],
  ])('%s → user %s, server %s', (jid, user, server) => {
    expect(jidUser(jid)).toBe(user);
    expect(jidServer(jid)).toBe(server);
  });

  it.each([
    ['972501234567@s.whatsapp.net', '972501234567'],
    ['972501234567:3@s.whatsapp.net', '972501234567'],
    ['972501234567@c.us', '972501234567'],
    ['112233445566778@lid', null],
    ['120363041234567890@g.us', null],
    ['status@broadcast', null],
    ['+972501234567@s.whatsapp.net', null],
    ['@s.whatsapp.net', null],
    ['972501234567', null],
  ])('phoneFromJid(%s) = %s', (jid, phone) => {
    expect(phoneFromJid(jid)).toBe(phone);
  });
});
