/**
 * What an operator's retry of a failed send job re-arms in the database before the job runs again.
 *
 * A send the gateway refused (a 4xx) fails its outbox row (and its broadcast recipient) for good, and a
 * send job that finds its row failed sends nothing: that is what keeps every automatic re-run (a
 * retry with backoff, a stalled job re-run after its worker died) from sending a refused message
 * again. An operator's retry is the one deliberate exception, and it is told apart by where it
 * happens: here, in the retry endpoint, never in a job. The row goes back to pending (the same row,
 * so the same idempotency key, which the gateway never accepted), and only then is the job put back
 * in line.
 *
 * That order is what keeps it safe wherever a process dies: the API dying before the re-arm
 * commits changes nothing; dying between the re-arm and the move leaves a pending row whose job is
 * still failed (nothing sends, the console still offers the retry, and retrying again, the re-arm
 * being idempotent, completes it); a worker dying after the move re-runs the job against a pending
 * row, whose send carries the row's key, so the gateway delivers it once. The reverse order could let
 * a worker pick the job up before the re-arm committed, see the row still failed, and fail it again.
 */
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { BroadcastsRepository } from '../db/repositories/broadcasts.repository.js';
import type { OutboxRepository } from '../db/repositories/outbox.repository.js';
import { BroadcastSendPayload, SendMessagePayload } from '../queue/job-catalog.js';

export type RetryPreparation = { isAllowed: true; isRearmed: boolean } | { isAllowed: false; reason: string };

export type FailedJobRearm = (job: { name: string; data: unknown }) => Promise<RetryPreparation>;

const broadcastSendCheck = TypeCompiler.Compile(BroadcastSendPayload);
const sendMessageCheck = TypeCompiler.Compile(SendMessagePayload);

/**
 * A job with nothing to re-arm (another job, a row not failed, a payload that is not valid: its job
 * fails again on it, as it should) is simply retried.
 */
export function createFailedJobRearm(deps: {
  broadcasts: Pick<BroadcastsRepository, 'rearmFailed'>;
  outbox: Pick<OutboxRepository, 'rearmFailed'>;
}): FailedJobRearm {
  return async ({ name, data }) => {
    if (name === 'broadcast_send' && broadcastSendCheck.Check(data)) {
      const result = await deps.broadcasts.rearmFailed(data.tenantId, data.recipientId);
      if (result.outcome === 'cancelled') {
        return { isAllowed: false, reason: `Broadcast ${data.broadcastId} is cancelled: its failed sends are not retried` };
      }
      return { isAllowed: true, isRearmed: result.outcome === 'rearmed' };
    }
    if (name === 'send_message' && sendMessageCheck.Check(data)) {
      const result = await deps.outbox.rearmFailed(data.tenantId, data.outboxId);
      if (result.outcome === 'broadcast') {
        return { isAllowed: false, reason: `Outbox row ${data.outboxId} belongs to a broadcast: retry its broadcast_send job` };
      }
      return { isAllowed: true, isRearmed: result.outcome === 'rearmed' };
    }
    return { isAllowed: true, isRearmed: false };
  };
}
