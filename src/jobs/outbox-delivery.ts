/**
 * The one way an outbox row reaches the gateway, shared by `send_message` and `broadcast_send`. The
 * idempotency key is derived from the row, so however often this runs (retries, a worker killed after
 * the gateway accepted), the gateway delivers the text once. A gateway 4xx (other than 408/429) fails
 * the row for good, with the reason; so does the job's last attempt; anything else is recorded as an
 * attempt and rethrown for BullMQ to retry with backoff.
 */
import type { OutboxRow } from '../db/schema.js';
import { errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { PermanentJobError } from '../queue/job-errors.js';
import { outboxIdempotencyKey } from '../queue/job-ids.js';
import type { QueueJob } from '../queue/job-workers.js';
import { GatewayPermanentError } from '../whatsapp/gateway.types.js';
import type { JobDeps } from './job-context.js';

export type Delivery =
  | { outcome: 'sent'; waMessageId: string; /** The outbound message row that now stands for the send. */ storedMessageId: string }
  | { outcome: 'already_sent'; waMessageId: string | null }
  | { outcome: 'already_failed'; reason: string | null };

export async function deliverOutboxRow(
  deps: Pick<JobDeps, 'outbox' | 'gateway'>,
  outbox: OutboxRow,
  job: Pick<QueueJob, 'attemptsMade' | 'maxAttempts'>,
  log: Logger,
): Promise<Delivery> {
  const { tenant_id: tenantId, id: outboxId } = outbox;
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
  const storedMessageId = await deps.outbox.markSent(outbox, messageId);
  log.info({ tenantId, outboxId, to: outbox.to_jid, waMessageId: messageId }, 'Message sent');
  return { outcome: 'sent', waMessageId: messageId, storedMessageId };
}
