/**
 * `send_message`: sends one outbox row through the gateway (`deliverOutboxRow`: once, whatever
 * re-runs), then schedules the conversation's summary after it.
 */
import type { SendMessageJob } from '../queue/job-catalog.js';
import { PermanentJobError } from '../queue/job-errors.js';
import { summaryJobId } from '../queue/job-ids.js';
import type { JobHandler } from './job-context.js';
import { deliverOutboxRow } from './outbox-delivery.js';

export const handle: JobHandler<SendMessageJob> = async ({ tenantId, outboxId }, { deps, log, job }) => {
  const outbox = await deps.outbox.find(tenantId, outboxId);
  if (!outbox) throw new PermanentJobError(`Outbox row ${outboxId} of tenant ${tenantId} does not exist`);
  const delivery = await deliverOutboxRow(deps, outbox, job, log);
  if (delivery.outcome !== 'sent') return delivery;
  // Our reply is now the conversation's newest message: the summary waits for quiet after it.
  await deps.queues.enqueue(
    'conversation_summarize',
    { tenantId, conversationId: outbox.conversation_id, triggerMessageId: delivery.storedMessageId },
    summaryJobId(tenantId, delivery.storedMessageId),
    deps.settings.summaryIdleMs,
  );
  return { outcome: 'sent', waMessageId: delivery.waMessageId };
};
