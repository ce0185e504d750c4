/**
 * `webhook_process`: one inbound WhatsApp message, normalised and stored idempotently. A re-run (a
 * retry, a stalled job after a crash) finds the message identity already stored and changes nothing.
 *
 * A customer message that may need an answer is stored `pending`; the first one of a burst arms the
 * burst's reply job, scheduled REPLY_DEBOUNCE_MS later, and the rest join it (see
 * replies.repository.ts). A direct-chat message that needs no answer schedules a summary refresh for
 * when the chat goes quiet; one that does leaves that to the reply (sent or not).
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
  // Every message waiting for a reply (re)schedules its burst's job, under the id of the message that
  // armed it: while that job exists this is a no-op, and it is created if the arming message's run
  // stored it but died before scheduling (and then failed for good), which would otherwise leave the
  // chat armed and unanswered. Re-runs do the same.
  const armedBy = stored.replyJobMessageId;
  if (armedBy) {
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
