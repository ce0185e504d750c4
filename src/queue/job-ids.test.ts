import { describe, expect, it } from 'vitest';
import { messageJobId, receiptJobId } from './job-ids.js';

const key = { remoteJid: '972501234567@s.whatsapp.net', id: '3EB0C767D26A1D5F1A2B', fromMe: false };

describe('job ids', () => {
  it('are deterministic and readable', () => {
    expect(messageJobId('acme', key)).toBe('msg|acme|972501234567@s.whatsapp.net|3EB0C767D26A1D5F1A2B|in');
    expect(messageJobId('acme', key)).toBe(messageJobId('acme', { ...key }));
  });

  it('never contain ":" and are never all digits (BullMQ rejects both)', () => {
    const odd = messageJobId('123', { remoteJid: '1234:5@s.whatsapp.net', id: '42', fromMe: true });
    expect(odd).not.toContain(':');
    expect(odd).not.toMatch(/^\d+$/);
    expect(odd).toBe('msg|123|1234%3A5@s.whatsapp.net|42|out');
  });

  it('cannot be confused by separators inside the parts', () => {
    const a = messageJobId('a|b', { ...key, id: 'c' });
    const b = messageJobId('a', { ...key, remoteJid: `b|${key.remoteJid}`, id: 'c' });
    expect(a).not.toBe(b);
  });

  it('separate tenants, directions, statuses and group members', () => {
    const ids = new Set([
      messageJobId('acme', key),
      messageJobId('beta', key),
      messageJobId('acme', { ...key, fromMe: true }),
      receiptJobId('acme', key, 3, null),
      receiptJobId('acme', key, 4, null),
      receiptJobId('acme', key, 4, '112233445566778@lid'),
    ]);
    expect(ids.size).toBe(6);
  });
});
