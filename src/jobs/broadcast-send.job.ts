/**
 * `broadcast_send`: sends a broadcast's text to one recipient, at most once, at the tenant's rate.
 *
 * 1. A settled recipient is a no-op, except a failed one: its job fails again with the reason, so a
 *    failed send stays visible (and retryable) even when the run that failed it died before BullMQ
 *    recorded the failure. An unclaimed recipient follows the broadcast: cancelled → skipped; paused
 *    (or not started) → postponed 1–3 s without using an attempt.
 * 2. A slot of the tenant's rate (Redis, shared by every worker); none free now → the job is given the
 *    next free slot and postponed until it, so the rate holds on actual sends, a backlog of one tenant
 *    runs each job once more rather than round and round, and other tenants' jobs never wait.
 * 3. The claim: in one transaction, while the broadcast runs, the recipient's one outbox row
 *    (unique per recipient). From then on the send is committed and survives pause and cancel.
 * 4. The send itself, by the same code as `send_message` (idempotency key from the outbox row),
 *    inline so the rate applies to it; the recipient takes the row's outcome (sent or failed).
 * 5. The recipient that settles last completes the broadcast.
 *
 * Never re-armed here: a failed recipient goes back to pending only through an operator's retry
 * (`POST /api/queues/broadcasts/failed/:id/retry`, which re-arms it in the database before it puts
 * the job back in line), so no automatic re-run can ever send a permanently refused message again.
 */
import { errorMessage } from '../lib/errors.js';
import type { BroadcastSendJob } from '../queue/job-catalog.js';
import { PermanentJobError } from '../queue/job-errors.js';
import { broadcastRate, broadcastRateKey } from './broadcast-rate.js';
import type { JobHandler } from './job-context.js';
import { deliverOutboxRow } from './outbox-delivery.js';

/**
 * How soon a paused broadcast's job looks again: resume takes effect within about the shortest. Spread,
 * so that a paused slice of sends costs a few runs a second, not one per job per second in step.
 */
function pausedRecheckAt(): number {
  return Date.now() + 1000 + Math.floor(Math.random() * 2000);
}

function failedSendError(to: string, reason: string | null): PermanentJobError {
  return new PermanentJobError(`Broadcast send to ${to} failed: ${reason ?? 'unknown reason'}`);
}

export const handle: JobHandler<BroadcastSendJob> = async ({ tenantId, broadcastId, recipientId }, { deps, log, job }) => {
  const target = await deps.broadcasts.findSendTarget(tenantId, recipientId);
  if (!target) return { outcome: 'not_found' };
  const { recipient, broadcast } = target;
  if (recipient.state !== 'pending') {
    // A run that died between settling the recipient and completing the broadcast left this to do.
    await deps.broadcasts.completeIfDone(broadcastId);
    if (recipient.state === 'failed') throw failedSendError(recipient.to_jid, recipient.error);
    return { outcome: `already_${recipient.state}` };
  }
  const isClaimed = recipient.outbox_id !== null;
  if (!isClaimed) {
    if (broadcast.state === 'cancelled') {
      await deps.broadcasts.skip(recipientId);
      return { outcome: 'skipped' };
    }
    if (broadcast.state !== 'running') return job.postpone(pausedRecheckAt());
  }

  const rate = broadcastRate(broadcast, target.tenantRatePerMinute, deps.settings.broadcastRatePerMinute);
  const waitMs = await deps.rateLimiter.take(broadcastRateKey(tenantId), rate, job.id);
  if (waitMs > 0) return job.postpone(Date.now() + waitMs);

  let outboxId = recipient.outbox_id;
  if (outboxId === null) {
    const claim = await deps.broadcasts.claim(tenantId, recipientId);
    if (claim.outcome === 'settled') return { outcome: 'already_settled' };
    if (claim.outcome === 'not_running') {
      // Paused or cancelled between the check and the claim: the slot is spent, the send is not.
      if (claim.state === 'cancelled') {
        await deps.broadcasts.skip(recipientId);
        return { outcome: 'skipped' };
      }
      return job.postpone(pausedRecheckAt());
    }
    outboxId = claim.outboxId;
  }

  const outbox = await deps.outbox.find(tenantId, outboxId);
  if (!outbox) throw new PermanentJobError(`Outbox row ${outboxId} of broadcast recipient ${recipientId} does not exist`);
  let delivery: Awaited<ReturnType<typeof deliverOutboxRow>>;
  try {
    delivery = await deliverOutboxRow(deps, outbox, job, log);
  } catch (error) {
    // A permanent refusal (or the last attempt) failed the row: the recipient fails with it, and the
    // job still fails visibly with its reason.
    const after = await deps.outbox.find(tenantId, outboxId);
    if (after?.state === 'failed') {
      await deps.broadcasts.settle(recipientId, 'failed', after.last_error ?? errorMessage(error));
      await deps.broadcasts.completeIfDone(broadcastId);
    }
    throw error;
  }
  if (delivery.outcome === 'already_failed') {
    // The row failed in a run that died before its recipient followed it.
    await deps.broadcasts.settle(recipientId, 'failed', delivery.reason);
    await deps.broadcasts.completeIfDone(broadcastId);
    throw failedSendError(outbox.to_jid, delivery.reason);
  }
  await deps.broadcasts.settle(recipientId, 'sent', null);
  await deps.broadcasts.completeIfDone(broadcastId);
  return { outcome: 'sent', outboxId };
};
