/**
 * `receipts_reconcile`: applies parked receipts whose message is stored by now. The message's own
 * store applies them in the same transaction, so normally there is nothing to do; this catches any
 * that slipped through (a receipt written by an older deploy, a bug fixed since), so no status stays
 * parked for good.
 */
import type { ScheduledTickJob } from '../queue/job-catalog.js';
import type { JobHandler } from './job-context.js';

const BATCH = 500;

export const handle: JobHandler<ScheduledTickJob> = async (_payload, { deps, log }) => {
  let messages = 0;
  let receipts = 0;
  for (;;) {
    const batch = await deps.maintenance.reconcilePendingReceipts(BATCH);
    messages += batch.messages;
    receipts += batch.receipts;
    // Applied receipts leave the table, so the next read starts with the ones still parked.
    if (batch.messages < BATCH) break;
  }
  const counts = { messages, receipts };
  if (receipts > 0) log.warn(counts, 'Pending receipts reconciled (their message had been stored without applying them)');
  else log.info(counts, 'Pending receipts reconciled');
  return counts;
};
