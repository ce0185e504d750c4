/**
 * `webhook_process`: one inbound WhatsApp message, normalised and stored idempotently. A re-run (a
 * retry, a stalled job after a crash) finds the message identity already stored and changes nothing.
 */
import type { WebhookProcessJob } from '../queue/job-catalog.js';
import { normalizeMessage } from '../whatsapp/normalize-message.js';
import type { JobHandler } from './job-context.js';

export interface WebhookProcessResult {
  outcome: 'stored' | 'already_stored' | 'no_content';
  kind?: string;
  messageId?: string | null;
}

export const handle: JobHandler<WebhookProcessJob> = async (payload, { deps, log }): Promise<WebhookProcessResult> => {
  const message = normalizeMessage(payload.message);
  if (!message) {
    log.info({ tenantId: payload.tenantId }, 'Message carries no content; nothing to store');
    return { outcome: 'no_content' };
  }
  const stored = await deps.messages.store(payload.tenantId, message);
  log.info(
    { tenantId: payload.tenantId, waMessageId: message.waMessageId, kind: message.kind, isNew: stored.isNew },
    stored.isNew ? 'Message stored' : 'Message already stored',
  );
  return { outcome: stored.isNew ? 'stored' : 'already_stored', kind: message.kind, messageId: stored.messageId };
};
