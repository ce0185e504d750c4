/** The queues of DESIGN.md, each a lane with its own workers and concurrency. */
export const QUEUE_NAMES = [
  'high',
  'default',
  'low',
  'receipts',
  'receipts_sync',
  'maintenance',
  'recordings',
  'broadcasts',
] as const;

export type QueueName = (typeof QUEUE_NAMES)[number];
