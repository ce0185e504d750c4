/**
 * `broadcast_send`: sends a broadcast's text to one recipient, at most once, at the tenant's rate.
 *
 * 1. A settled recipient (sent, failed, skipped) is a no-op. An unclaimed one follows the broadcast:
 *    cancelled → skipped; paused (or not started) → postponed ~1 s without using an attempt.
 * 2. A token from the tenant's bucket (Redis, shared by every worker); none → postponed until the
 *    next one, so the rate holds on actual sends and other tenants' jobs never wait.
 * 3. The claim: in one transaction, while the broadcast runs, the recipient's one outbox row
 *    (unique per recipient). From then on the send is committed and survives pause and cancel.
 * 4. The send itself, by the same code as `send_message` (idempotency key from the outbox row),
 *    inline so the rate applies to it; the recipient takes the row's outcome (sent or failed).
 * 5. The recipient that settles last completes the broadcast.
 */
import { errorMessage } from '../lib/errors.js';
import type { BroadcastSendJob } from '../queue/job-catalog.js';
import { PermanentJobError } from '../queue/job-errors.js';
import { broadcastRate, broadcastRateKey } from './broadcast-rate.js';
import type { JobHandler } from './job-context.js';
import { deliverOutboxRow } from './outbox-delivery.js';

/** How soon a paused broadcast's job looks again: resume takes effect within about this. */
const PAUSED_RECHECK_MS = 1000;

export const handle: JobHandler<BroadcastSendJob> = async ({ tenantId, broadcastId, recipientId }, { deps, log, job }) => {
  const target = await deps.broadcasts.findSendTarget(tenantId, recipientId);
  if (!target) return { outcome: 'not_found' };
  const { recipient, broadcast } = target;
  if (recipient.state !== 'pending') {
    // A run that died between settling the recipient and completing the broadcast left this to do.
    await deps.broadcasts.completeIfDone(broadcastId);
    return { outcome: `already_${recipient.state}` };
  }
  const isClaimed = recipient.outbox_id !== null;
  if (!isClaimed) {
    if (broadcast.state === 'cancelled') {
      await deps.broadcasts.skip(recipientId);
      return { outcome: 'skipped' };
    }
    if (broadcast.state !== 'running') return job.postpone(Date.now() + PAUSED_RECHECK_MS);
  }

  const rate = broadcastRate(broadcast, target.tenantRatePerMinute, deps.settings.broadcastRatePerMinute);
  const waitMs = await deps.rateLimiter.take(broadcastRateKey(tenantId), rate);
  if (waitMs > 0) {
    // A little jitter so the jobs that found the bucket empty together do not all wake together.
    return job.postpone(Date.now() + waitMs + Math.floor(Math.random() * Math.min(60_000 / rate, 1000)));
  }

  let outboxId = recipient.outbox_id;
  if (outboxId === null) {
    const claim = await deps.broadcasts.claim(tenantId, recipientId);
    if (claim.outcome === 'settled') return { outcome: 'already_settled' };
    if (claim.outcome === 'not_running') {
      // Paused or cancelled between the check and the claim: the token is spent, the send is not.
      if (claim.state === 'cancelled') {
        await deps.broadcasts.skip(recipientId);
        return { outcome: 'skipped' };
      }
      return job.postpone(Date.now() + PAUSED_RECHECK_MS);
    }
    outboxId = claim.outboxId;
  }

  const outbox = await deps.outbox.find(tenantId, outboxId);
  if (!outbox) throw new PermanentJobError(`Outbox row ${outboxId} of broadcast recipient ${recipientId} does not exist`);
  try {
    await deliverOutboxRow(deps, outbox, job, log);
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
  const after = await deps.outbox.find(tenantId, outboxId);
  const state = after?.state === 'failed' ? 'failed' : 'sent';
  await deps.broadcasts.settle(recipientId, state, state === 'failed' ? (after?.last_error ?? null) : null);
  await deps.broadcasts.completeIfDone(broadcastId);
  return { outcome: state, outboxId };
};
