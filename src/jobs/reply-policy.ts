/**
 * Whether and how to answer a set of claimed inbound messages: a pure function of the tenant's and
 * the conversation's settings, so every rule is testable on its own.
 */
import type { Conversation, Message, Tenant } from '../db/schema.js';

/** The tunables jobs read (from config); one object so handlers take what they need from it. */
export interface JobSettings {
  debounceMs: number;
  maxAgeMinutes: number;
  takeoverMinutes: number;
  historyMessages: number;
  summaryIdleMs: number;
  retentionDays: number;
  reminderMaxLatenessMinutes: number;
  /** BROADCAST_RATE_PER_MINUTE: a tenant's broadcast sends per minute unless it overrides it. */
  broadcastRatePerMinute: number;
}

export type ReplyDecision =
  | { action: 'skip'; reason: 'ai_disabled' | 'group_replies_disabled' | 'chat_not_answerable' | 'human_takeover' | 'too_old' }
  | { action: 'voice_note_notice' }
  | { action: 'ai' };

/** Kinds a customer expects an answer to; reactions, revokes, edits and stickers are never answered. */
export const ANSWERABLE_KINDS: ReadonlySet<string> = new Set(['text', 'image', 'video', 'audio', 'voice', 'document', 'location', 'contact', 'poll']);

export function decideReply(options: {
  tenant: Pick<Tenant, 'ai_enabled' | 'groups_enabled'>;
  conversation: Pick<Conversation, 'ai_enabled' | 'chat_type'>;
  messages: ReadonlyArray<Pick<Message, 'kind' | 'sent_at'>>;
  lastHumanMessageAt: Date | null;
  now: Date;
  settings: Pick<JobSettings, 'maxAgeMinutes' | 'takeoverMinutes'>;
}): ReplyDecision {
  const { tenant, conversation, messages, now, settings } = options;
  const isAiOn = conversation.ai_enabled ?? tenant.ai_enabled;
  if (!isAiOn) return { action: 'skip', reason: 'ai_disabled' };
  if (conversation.chat_type === 'group' && !tenant.groups_enabled) return { action: 'skip', reason: 'group_replies_disabled' };
  if (conversation.chat_type !== 'direct' && conversation.chat_type !== 'group') return { action: 'skip', reason: 'chat_not_answerable' };
  const takeoverMs = settings.takeoverMinutes * 60_000;
  if (options.lastHumanMessageAt && now.getTime() - options.lastHumanMessageAt.getTime() < takeoverMs) {
    return { action: 'skip', reason: 'human_takeover' };
  }
  const maxAgeMs = settings.maxAgeMinutes * 60_000;
  const recent = messages.filter((m) => now.getTime() - m.sent_at.getTime() <= maxAgeMs);
  if (recent.length === 0) return { action: 'skip', reason: 'too_old' };
  if (recent.every((m) => m.kind === 'voice')) return { action: 'voice_note_notice' };
  return { action: 'ai' };
}
