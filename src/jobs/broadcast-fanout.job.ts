/**
 * `broadcast_fanout`: starts a broadcast (pending → running) and keeps its next sends queued, a slice at
 * a time, until every pending recipient has its `broadcast_send` job (deterministic ids, so a re-run
 * after a crash adds only the missing ones). Each run tops the queued sends up to one slice (about
 * `SLICE_MS` of sends at the broadcast's rate), then postpones itself until about half of them are due.
 *
 * Why slices rather than all recipients at once: a tenant's sends are paced by its rate, so a
 * 10,000-recipient broadcast at 60 per minute is 10,000 jobs that wait for hours. Had they all been in
 * Redis, anything that makes them due together (workers down for a while, a long pause, a lowered
 * rate) would have put thousands of them in the queue's line at once, and every other tenant's
 * broadcast would have waited behind them while a worker ran each one only to postpone it again. With
 * slices, at most one slice per broadcast is ever in the line, whatever happened.
 *
 * The slice is counted from the database: the first pending recipients in id order are exactly the
 * ones already queued (queued in id order, still unsettled) followed by the next ones to queue, so
 * re-adding the first `slice` of them adds the missing ones and nothing else needs to be remembered.
 *
 * Each send is first due at its place in the schedule (position × 60 s / rate): the rate limiter
 * still enforces the rate, but jobs do not all wake at once only to wait for their turn.
 */
import type { BroadcastFanoutJob } from '../queue/job-catalog.js';
import { broadcastSendJobId } from '../queue/job-ids.js';
import { broadcastRate } from './broadcast-rate.js';
import type { JobHandler } from './job-context.js';

/** How much sending time one slice holds: short enough that a backlog stays small, long enough to cover pauses of the fan-out. */
const SLICE_MS = 20_000;
const MIN_SLICE = 10;
/** Bounds one slice at high rates: one Redis transaction, and the most jobs one broadcast puts in line. */
const MAX_SLICE = 500;
const MIN_RECHECK_MS = 250;
/** How soon the fan-out of a paused broadcast looks again. */
const PAUSED_RECHECK_MS = 1000;

function sliceSize(intervalMs: number): number {
  return Math.min(MAX_SLICE, Math.max(MIN_SLICE, Math.ceil(SLICE_MS / intervalMs)));
}

export const handle: JobHandler<BroadcastFanoutJob> = async ({ tenantId, broadcastId }, { deps, log, job }) => {
  const broadcast = await deps.broadcasts.start(tenantId, broadcastId);
  if (!broadcast) return { outcome: 'not_found' };
  if (broadcast.state === 'paused') return job.postpone(Date.now() + PAUSED_RECHECK_MS);
  if (broadcast.state !== 'running') return { outcome: broadcast.state };
  const tenant = await deps.tenants.find(tenantId);
  const intervalMs = 60_000 / broadcastRate(broadcast, tenant?.broadcast_rate_per_minute ?? null, deps.settings.broadcastRatePerMinute);
  const slice = sliceSize(intervalMs);

  const ids = await deps.broadcasts.pendingRecipientIds(broadcastId, '0', slice);
  const results = await deps.queues.enqueueBatch(
    ids.map((recipientId, position) => ({
      name: 'broadcast_send' as const,
      payload: { tenantId, broadcastId, recipientId },
      jobId: broadcastSendJobId(broadcastId, recipientId),
      delayMs: Math.floor(position * intervalMs),
    })),
  );
  const enqueued = results.filter((r) => !r.isDuplicate).length;
  if (ids.length === slice) {
    // More may follow: look again when about half of this slice has been sent.
    log.debug({ tenantId, broadcastId, queued: ids.length, enqueued }, 'Broadcast slice queued');
    return job.postpone(Date.now() + Math.max(MIN_RECHECK_MS, Math.ceil((slice / 2) * intervalMs)));
  }
  // Every pending recipient has its job; nothing pending (all settled before a re-run): done.
  await deps.broadcasts.completeIfDone(broadcastId);
  log.info({ tenantId, broadcastId, queued: ids.length, enqueued }, 'Broadcast fanned out');
  return { queued: ids.length, enqueued };
};
