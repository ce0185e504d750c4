/** Turns stored messages into the AI's chat turns: the customer is `user`, the business `assistant`. */
import type { ChatTurn } from '../ai/reply-generator.js';
import type { Message } from '../db/schema.js';

export function describeMessage(m: Pick<Message, 'kind' | 'text'>): string | null {
  const text = m.text?.trim() ?? '';
  switch (m.kind) {
    case 'text':
      return text || null;
    case 'voice':
      return '[voice note]';
    case 'image':
    case 'video':
    case 'audio':
    case 'document':
    case 'sticker':
      return text ? `[${m.kind}] ${text}` : `[${m.kind}]`;
    case 'location':
      return text ? `[location] ${text}` : '[location]';
    case 'contact':
      return '[contact card]';
    case 'poll':
      return text ? `[poll] ${text}` : '[poll]';
    default:
      return null;
  }
}

export function toChatTurns(messages: ReadonlyArray<Pick<Message, 'from_me' | 'kind' | 'text'>>): ChatTurn[] {
  const turns: ChatTurn[] = [];
  for (const m of messages) {
    const content = describeMessage(m);
    if (content) turns.push({ role: m.from_me ? 'assistant' : 'user', content });
  }
  return turns;
}
