/**
 * `receipt_apply`: one delivery or read status. Applied monotonically; when the message is not stored
 * yet, parked and applied by the job that stores it.
 */
import type { ReceiptApplyJob } from '../queue/job-catalog.js';
import type { JobHandler } from './job-context.js';

export const handle: JobHandler<ReceiptApplyJob> = async (payload, { deps, log }) => {
  const outcome = await deps.receipts.apply(
    { tenantId: payload.tenantId, remoteJid: payload.key.remoteJid, waMessageId: payload.key.id, fromMe: payload.key.fromMe },
    { status: payload.status, at: payload.at === null ? null : new Date(payload.at), userJid: payload.userJid },
  );
  log.info({ tenantId: payload.tenantId, waMessageId: payload.key.id, status: payload.status, outcome }, 'Receipt handled');
  return { outcome };
};
