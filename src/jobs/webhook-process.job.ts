/**
 * `webhook_process`: one inbound WhatsApp message, normalised and stored idempotently. A re-run (a
 * retry, a stalled job after a crash) finds the message identity already stored and changes nothing.
 *
 * A customer message that may need an answer is stored `pending`; the first one of a burst schedules
 * the burst's reply job REPLY_DEBOUNCE_MS later, the rest join it (see replies.repository.ts). A
 * direct-chat message that needs no answer schedules a summary refresh for when the chat goes quiet;
 * one that does leaves that to the reply (sent or not).
 */
import type { WebhookProcessJob } from '../queue/job-catalog.js';
import { replyJobId, summaryJobId } from '../queue/job-ids.js';
import type { NormalizedMessage } from '../whatsapp/message.types.js';
import { normalizeMessage } from '../whatsapp/normalize-message.js';
import type { JobHandler } from './job-context.js';
import { ANSWERABLE_KINDS } from './reply-policy.js';

export interface WebhookProcessResult {
  outcome: 'stored' | 'already_stored' | 'no_content';
  kind?: string;
  messageId?: string | null;
}

function mayNeedAnswer(m: NormalizedMessage): boolean {
  return !m.fromMe && (m.chatType === 'direct' || m.chatType === 'group') && ANSWERABLE_KINDS.has(m.kind);
}

export const handle: JobHandler<WebhookProcessJob> = async (payload, { deps, log }): Promise<WebhookProcessResult> => {
  const { tenantId } = payload;
  const message = normalizeMessage(payload.message);
  if (!message) {
    log.info({ tenantId }, 'Message carries no content; nothing to store');
    return { outcome: 'no_content' };
  }
  const stored = await deps.messages.store(tenantId, message, { awaitsReply: mayNeedAnswer(message), receivedAt: new Date(payload.receivedAt) });
  log.info(
    { tenantId, waMessageId: message.waMessageId, kind: message.kind, isNew: stored.isNew },
    stored.isNew ? 'Message stored' : 'Message already stored',
  );
  // The message that armed the burst's reply job schedules it; so does every re-run while the message
  // waits (a run that crashed after storing must not leave it unanswered; the job id makes repeats
  // no-ops). A new message that joined an armed burst schedules nothing.
  const armedBy = stored.replyJobMessageId;
  if (armedBy && (armedBy === stored.messageId || !stored.isNew)) {
    await deps.queues.enqueue(
      'reply_generate',
      { tenantId, conversationId: stored.conversationId, triggerMessageId: armedBy },
      replyJobId(tenantId, armedBy),
      deps.settings.debounceMs,
    );
  }
  if (stored.messageId && message.chatType === 'direct' && stored.replyState !== 'pending') {
    await deps.queues.enqueue(
      'conversation_summarize',
      { tenantId, conversationId: stored.conversationId, triggerMessageId: stored.messageId },
      summaryJobId(tenantId, stored.messageId),
      deps.settings.summaryIdleMs,
    );
  }
  return { outcome: stored.isNew ? 'stored' : 'already_stored', kind: message.kind, messageId: stored.messageId };
};
