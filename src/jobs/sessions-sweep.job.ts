/**
 * `sessions_sweep`: the safety net of conversation summaries. Every stored message already schedules
 * its own `conversation_summarize`; this periodic sweep finds direct conversations that went quiet
 * and still have no up-to-date summary (a job that was never enqueued, a worker that was down for
 * long) and enqueues the summary under the same id the newest message's own job has. When that job
 * still exists (delayed, running, or recently finished) the enqueue is a duplicate and nothing runs
 * twice; an older message's id would only be skipped by the summary job as superseded.
 */
import type { ScheduledTickJob } from '../queue/job-catalog.js';
import { summaryJobId } from '../queue/job-ids.js';
import type { JobHandler } from './job-context.js';

const BATCH = 200;
/**
 * Conversations quiet for longer than this are left alone: their summary would only serve a reply
 * that is not coming, and the next message schedules one anyway. It also stops the first sweep after
 * an upgrade from summarising every stored conversation at once.
 */
export const SWEEP_LOOKBACK_MS = 24 * 3600_000;

export const handle: JobHandler<ScheduledTickJob> = async (payload, { deps, log }) => {
  const idleSince = new Date(payload.tickAt - deps.settings.summaryIdleMs);
  const notBefore = new Date(idleSince.getTime() - SWEEP_LOOKBACK_MS);
  let afterId: string | undefined;
  let conversations = 0;
  let enqueued = 0;
  for (;;) {
    const batch = await deps.maintenance.idleConversationsToSummarise(idleSince, BATCH, { notBefore, ...(afterId ? { afterId } : {}) });
    if (batch.length > 0) {
      const results = await deps.queues.enqueueBatch(
        batch.map((c) => ({
          name: 'conversation_summarize' as const,
          payload: { tenantId: c.tenantId, conversationId: c.conversationId, triggerMessageId: c.newestMessageId },
          jobId: summaryJobId(c.tenantId, c.newestMessageId),
        })),
      );
      conversations += batch.length;
      enqueued += results.filter((r) => !r.isDuplicate).length;
    }
    // A keyset cursor, not "until none are left": the summaries run later, so the same conversations
    // would still qualify on the next read.
    const last = batch.at(-1);
    if (batch.length < BATCH || !last) break;
    afterId = last.conversationId;
  }
  const counts = { conversations, enqueued, alreadyQueued: conversations - enqueued };
  log.info(counts, 'Sessions swept');
  return counts;
};
