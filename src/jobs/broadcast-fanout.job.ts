/**
 * `broadcast_fanout`: starts a broadcast (pending → running) and enqueues one `broadcast_send` job per
 * pending recipient, 1,000 per Redis transaction, with deterministic ids (a re-run after a crash adds
 * only the missing ones).
 *
 * Each send is first due at its place in the schedule (position × 60 s / rate): the token bucket
 * still enforces the rate, but jobs do not all wake at once only to find no token and postpone
 * again, which for 100,000 recipients would be 100,000 wasted runs per refill.
 */
import type { BroadcastFanoutJob } from '../queue/job-catalog.js';
import { broadcastSendJobId } from '../queue/job-ids.js';
import { broadcastRate } from './broadcast-rate.js';
import type { JobHandler } from './job-context.js';

const CHUNK = 1000;

export const handle: JobHandler<BroadcastFanoutJob> = async ({ tenantId, broadcastId }, { deps, log }) => {
  const broadcast = await deps.broadcasts.start(tenantId, broadcastId);
  if (!broadcast) return { outcome: 'not_found' };
  if (broadcast.state !== 'running' && broadcast.state !== 'paused') return { outcome: broadcast.state };
  const tenant = await deps.tenants.find(tenantId);
  const intervalMs = 60_000 / broadcastRate(broadcast, tenant?.broadcast_rate_per_minute ?? null, deps.settings.broadcastRatePerMinute);

  let enqueued = 0;
  let position = 0;
  for (let afterId = '0'; ; ) {
    const ids = await deps.broadcasts.pendingRecipientIds(broadcastId, afterId, CHUNK);
    const last = ids[ids.length - 1];
    if (last === undefined) break;
    const results = await deps.queues.enqueueBatch(
      ids.map((recipientId, index) => ({
        name: 'broadcast_send' as const,
        payload: { tenantId, broadcastId, recipientId },
        jobId: broadcastSendJobId(broadcastId, recipientId),
        delayMs: Math.floor((position + index) * intervalMs),
      })),
    );
    enqueued += results.filter((r) => !r.isDuplicate).length;
    position += ids.length;
    afterId = last;
  }
  // Nothing pending (every recipient settled before a re-run): the broadcast is done.
  await deps.broadcasts.completeIfDone(broadcastId);
  log.info({ tenantId, broadcastId, recipients: position, enqueued }, 'Broadcast fanned out');
  return { recipients: position, enqueued };
};
