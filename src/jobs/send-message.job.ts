/**
 * `send_message`: sends one outbox row through the gateway (`deliverOutboxRow`: once, whatever
 * re-runs), then schedules the conversation's summary after it.
 *
 * A failed row is never re-armed here: a re-run that finds it failed (its worker died between failing
 * the row and failing the job) fails again with the reason, so the failure stays visible. Only an
 * operator's retry of the failed job re-arms the row, in the database, before the job runs again.
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
  if (delivery.outcome === 'already_failed') throw new PermanentJobError(`Outbox row ${outboxId} failed: ${delivery.reason ?? 'unknown reason'}`);
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
