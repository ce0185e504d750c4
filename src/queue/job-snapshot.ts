/**
 * What operators and tests see of a job or a queue: plain snapshots, so BullMQ's own classes never
 * leave src/queue/.
 */
import type { QueueName } from './queue-names.js';

export type JobState = 'completed' | 'failed' | 'delayed' | 'active' | 'waiting' | 'waiting-children' | 'prioritized' | 'unknown';

export interface JobSnapshot {
  id: string;
  name: string;
  queue: QueueName;
  state: JobState;
  data: unknown;
  progress: unknown;
  attemptsMade: number;
  failedReason: string | null;
  returnValue: unknown;
  timestamp: number;
  processedOn: number | null;
  finishedOn: number | null;
}

export interface QueueOverview {
  name: QueueName;
  counts: Record<string, number>;
  isPaused: boolean;
  /** How long the oldest waiting job has waited; null when none waits. */
  oldestWaitingAgeMs: number | null;
}

/** The fields of a BullMQ job a snapshot reads. */
interface JobLike {
  id?: string | undefined;
  name: string;
  data: unknown;
  progress: unknown;
  attemptsMade: number;
  failedReason?: string;
  returnvalue?: unknown;
  timestamp: number;
  processedOn?: number;
  finishedOn?: number;
}

export function snapshotOf(queue: QueueName, job: JobLike, state: JobState): JobSnapshot {
  return {
    id: job.id ?? '',
    name: job.name,
    queue,
    state,
    data: job.data,
    progress: job.progress,
    attemptsMade: job.attemptsMade,
    failedReason: job.failedReason ?? null,
    returnValue: job.returnvalue ?? null,
    timestamp: job.timestamp,
    processedOn: job.processedOn ?? null,
    finishedOn: job.finishedOn ?? null,
  };
}
