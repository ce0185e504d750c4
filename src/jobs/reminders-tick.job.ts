/**
 * `reminders_tick` (every minute, from the scheduler): turns each due reminder into its one send.
 *
 * 1. Re-enqueue the sends of reminder outbox rows still pending. A tick that died after committing
 *    rows but before enqueueing their sends left them there; the send job id is derived from the
 *    row, so a send that is already queued, running or done is not added twice.
 * 2. Dispatch due reminders in batches until none is left: each batch, in one transaction, marks the
 *    too-late ones missed and stores one outbox row per on-time one (`dispatchDue`); then their sends
 *    are enqueued. Overlapping ticks take disjoint batches (SKIP LOCKED), and the outbox row is unique
 *    per reminder, so however ticks overlap, re-run or die, each reminder is sent once.
 */
import type { DueSend } from '../db/repositories/reminders.repository.js';
import type { ScheduledTickJob } from '../queue/job-catalog.js';
import { sendJobId } from '../queue/job-ids.js';
import type { JobDeps, JobHandler } from './job-context.js';

/** Reminders per transaction: big enough for a burst at the top of the hour, small enough to hold locks briefly. */
const BATCH = 500;

/** Enqueues the sends in one Redis transaction; returns how many were not queued already. */
async function enqueueSends(deps: JobDeps, sends: readonly DueSend[]): Promise<number> {
  const results = await deps.queues.enqueueBatch(
    sends.map((s) => ({ name: 'send_message' as const, payload: { tenantId: s.tenantId, outboxId: s.outboxId }, jobId: sendJobId(s.tenantId, s.outboxId) })),
  );
  return results.filter((r) => !r.isDuplicate).length;
}

export const handle: JobHandler<ScheduledTickJob> = async ({ tickAt }, { deps, log }) => {
  let resent = 0;
  for (let afterId = '0'; ; ) {
    const unsent = await deps.reminders.unsentOutbox(afterId, BATCH);
    const last = unsent[unsent.length - 1];
    if (!last) break;
    resent += await enqueueSends(deps, unsent);
    afterId = last.outboxId;
  }
  if (resent > 0) log.warn({ resent }, 'Re-enqueued reminder sends an earlier tick had not enqueued');

  let queued = 0;
  let missed = 0;
  for (;;) {
    const batch = await deps.reminders.dispatchDue(new Date(), deps.settings.reminderMaxLatenessMinutes, BATCH);
    // Committed before enqueueing: a crash in between is what step 1 of the next tick repairs.
    if (batch.sends.length > 0) await enqueueSends(deps, batch.sends);
    queued += batch.sends.length;
    missed += batch.missed.length;
    for (const m of batch.missed) {
      log.warn({ tenantId: m.tenantId, reminderId: m.reminderId, maxLatenessMinutes: deps.settings.reminderMaxLatenessMinutes }, 'Reminder missed');
    }
    if (batch.claimed < BATCH) break;
  }

  const counts = { tickAt, queued, missed, resent };
  if (queued + missed + resent > 0) log.info(counts, 'Reminders dispatched');
  else log.debug(counts, 'No reminder due');
  return { queued, missed, resent };
};
