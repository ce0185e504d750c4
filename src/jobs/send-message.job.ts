/**
 * `send_message`: sends one outbox row through the gateway. The idempotency key is derived from the
 * row, so however often this job runs (retries, a worker killed after the gateway accepted), the
 * gateway delivers the text once. A gateway 4xx (other than 408/429) fails the row for good, with the
 * reason; everything else is retried with backoff.
 */
import { errorMessage } from '../lib/errors.js';
import type { SendMessageJob } from '../queue/job-catalog.js';
import { PermanentJobError } from '../queue/job-errors.js';
import { outboxIdempotencyKey, summaryJobId } from '../queue/job-ids.js';
import { GatewayPermanentError } from '../whatsapp/gateway.types.js';
import type { JobHandler } from './job-context.js';

export const handle: JobHandler<SendMessageJob> = async ({ tenantId, outboxId }, { deps, log, job }) => {
  const outbox = await deps.outbox.find(tenantId, outboxId);
  if (!outbox) throw new PermanentJobError(`Outbox row ${outboxId} of tenant ${tenantId} does not exist`);
  if (outbox.state === 'sent') return { outcome: 'already_sent', waMessageId: outbox.wa_message_id };
  if (outbox.state === 'failed') return { outcome: 'already_failed', reason: outbox.last_error };
  if (!deps.gateway) {
    const reason = 'No gateway configured: set GATEWAY_URL';
    await deps.outbox.markFailed(outboxId, reason);
    throw new PermanentJobError(reason);
  }

  let messageId: string;
  try {
    ({ messageId } = await deps.gateway.sendText({
      tenantId,
      to: outbox.to_jid,
      text: outbox.text,
      idempotencyKey: outboxIdempotencyKey(tenantId, outboxId),
      ...(outbox.quoted_wa_message_id ? { quotedMessageId: outbox.quoted_wa_message_id } : {}),
    }));
  } catch (error) {
    const reason = errorMessage(error);
    const isLastAttempt = job.attemptsMade + 1 >= job.maxAttempts;
    if (error instanceof GatewayPermanentError || isLastAttempt) {
      await deps.outbox.markFailed(outboxId, reason);
      if (error instanceof GatewayPermanentError) throw new PermanentJobError(`Gateway refused the message: ${reason}`);
    } else {
      await deps.outbox.recordAttempt(outboxId, reason);
    }
    throw error;
  }
  const storedId = await deps.outbox.markSent(outbox, messageId);
  log.info({ tenantId, outboxId, to: outbox.to_jid, waMessageId: messageId }, 'Message sent');
  // Our reply is now the conversation's newest message: the summary waits for quiet after it.
  await deps.queues.enqueue(
    'conversation_summarize',
    { tenantId, conversationId: outbox.conversation_id, triggerMessageId: storedId },
    summaryJobId(tenantId, storedId),
    deps.settings.summaryIdleMs,
  );
  return { outcome: 'sent', waMessageId: messageId };
};
