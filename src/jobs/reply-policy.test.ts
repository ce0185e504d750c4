import { describe, expect, it } from 'vitest';
import { decideReply } from './reply-policy.js';

const now = new Date('2026-11-30T12:00:00Z');
const minutesAgo = (m: number) => new Date(now.getTime() - m * 60_000);
const settings = { maxAgeMinutes: 60, takeoverMinutes: 30 };
const tenant = { ai_enabled: true, groups_enabled: false };
const direct = { ai_enabled: null, chat_type: 'direct' };
const text = (ageMinutes = 0) => ({ kind: 'text', sent_at: minutesAgo(ageMinutes) });

function decide(overrides: Partial<Parameters<typeof decideReply>[0]> = {}) {
  return decideReply({ tenant, conversation: direct, messages: [text()], lastHumanMessageAt: null, now, settings, ...overrides });
}

describe('decideReply', () => {
  it('answers a fresh 1:1 text with the AI', () => {
    expect(decide()).toEqual({ action: 'ai' });
  });

  it('follows the tenant switch unless the conversation overrides it', () => {
    expect(decide({ tenant: { ...tenant, ai_enabled: false } })).toEqual({ action: 'skip', reason: 'ai_disabled' });
    expect(decide({ tenant: { ...tenant, ai_enabled: false }, conversation: { ...direct, ai_enabled: true } })).toEqual({ action: 'ai' });
    expect(decide({ conversation: { ...direct, ai_enabled: false } })).toEqual({ action: 'skip', reason: 'ai_disabled' });
  });

  it('answers groups only when the tenant enables them; never stories or channels', () => {
    const group = { ai_enabled: null, chat_type: 'group' };
    expect(decide({ conversation: group })).toEqual({ action: 'skip', reason: 'group_replies_disabled' });
    expect(decide({ conversation: group, tenant: { ...tenant, groups_enabled: true } })).toEqual({ action: 'ai' });
    for (const chat_type of ['status', 'newsletter', 'broadcast']) {
      expect(decide({ conversation: { ai_enabled: null, chat_type } })).toEqual({ action: 'skip', reason: 'chat_not_answerable' });
    }
  });

  it('pauses while a person on the business phone took over, and resumes after the window', () => {
    expect(decide({ lastHumanMessageAt: minutesAgo(29) })).toEqual({ action: 'skip', reason: 'human_takeover' });
    expect(decide({ lastHumanMessageAt: minutesAgo(31) })).toEqual({ action: 'ai' });
  });

  it('does not answer old messages (offline replays, history), but answers a burst with one fresh message', () => {
    expect(decide({ messages: [text(61)] })).toEqual({ action: 'skip', reason: 'too_old' });
    expect(decide({ messages: [text(90), text(1)] })).toEqual({ action: 'ai' });
  });

  it('answers voice notes alone with the notice, and a mixed burst with the AI', () => {
    const voice = { kind: 'voice', sent_at: now };
    expect(decide({ messages: [voice] })).toEqual({ action: 'voice_note_notice' });
    expect(decide({ messages: [voice, text()] })).toEqual({ action: 'ai' });
  });
});
