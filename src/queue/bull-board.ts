/**
 * Bull Board's view of our queues. Its adapters wrap BullMQ `Queue` objects, so they are built here,
 * the only folder that touches BullMQ (DESIGN.md rule 3); the HTTP layer receives them as Bull Board's
 * own `BaseAdapter` type and never sees a BullMQ class.
 *
 * Read-only on purpose: Bull Board can add jobs (bypassing the typed catalogue, rule 3), and empty,
 * clean or obliterate queues (dropping jobs the webhook already acknowledged, rule 5). Operators look
 * here; they retry failed jobs from the console or the admin API. `readOnlyMode` only hides Bull
 * Board's buttons, so the HTTP side also refuses every request to it that is not a read.
 */
import type { BaseAdapter } from '@bull-board/api/baseAdapter';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import type { JobQueues } from './job-queues.js';
import { QUEUE_NAMES } from './queue-names.js';

export function createBullBoardQueues(queues: JobQueues): BaseAdapter[] {
  return QUEUE_NAMES.map((name) => new BullMQAdapter(queues.queue(name), { readOnlyMode: true }));
}
