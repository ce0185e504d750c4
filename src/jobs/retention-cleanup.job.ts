/**
 * `retention_cleanup`: deletes what is older than RETENTION_DAYS (messages with their receipts,
 * finished outbox rows, emptied conversations), pending receipts whose message never came, and old
 * job records in Redis. Cutoffs count from the tick's time, not the clock: a tick that runs late
 * (a worker was down) deletes exactly what its tick was due to.
 */
import type { ScheduledTickJob } from '../queue/job-catalog.js';
import type { JobHandler } from './job-context.js';

const DAY_MS = 24 * 3600_000;
const BATCH = 1000;
/** A receipt parked this long will never meet its message: WhatsApp does not deliver a week late. */
export const STALE_PENDING_RECEIPT_MS = 7 * DAY_MS;

export const handle: JobHandler<ScheduledTickJob> = async (payload, { deps, log, job }) => {
  const cutoff = new Date(payload.tickAt - deps.settings.retentionDays * DAY_MS);
  const pendingReceiptsBefore = new Date(Math.max(cutoff.getTime(), payload.tickAt - STALE_PENDING_RECEIPT_MS));
  const deleted = { messages: 0, outbox: 0, pendingReceipts: 0, conversations: 0 };
  let rounds = 0;
  for (;;) {
    const batch = await deps.maintenance.deleteOlderThan({ cutoff, pendingReceiptsBefore }, BATCH);
    deleted.messages += batch.messages;
    deleted.outbox += batch.outbox;
    deleted.pendingReceipts += batch.pendingReceipts;
    deleted.conversations += batch.conversations;
    rounds += 1;
    // A first run over a large backlog can take a while: progress shows it is moving.
    await job.updateProgress({ rounds, ...deleted });
    if (Object.values(batch).every((n) => n < BATCH)) break;
  }
  const cleaned = await deps.queues.cleanFinished(Math.max(0, Date.now() - cutoff.getTime()));
  const jobRecords = Object.values(cleaned).reduce(
    (sum, c) => ({ completed: sum.completed + c.completed, failed: sum.failed + c.failed }),
    { completed: 0, failed: 0 },
  );
  const counts = { cutoff: cutoff.toISOString(), ...deleted, jobRecords };
  log.info(counts, 'Retention cleanup done');
  return counts;
};
