/**
 * Job status for operators: every queue's counts and oldest waiting age, a job's state and progress,
 * the failed jobs with their reasons, and a retry that puts a failed job back in line, having first
 * re-armed what its failure left failed in the database (see failed-job-rearm.ts), so that a retried
 * send really sends.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { conflict, notFound } from '../../lib/errors.js';
import type { JobQueues } from '../../queue/job-queues.js';
import type { FailedJobRearm } from '../failed-job-rearm.js';
import { QUEUE_NAMES } from '../../queue/queue-names.js';

const QueueParam = Type.Union(QUEUE_NAMES.map((q) => Type.Literal(q)));
const ErrorResponse = Type.Object({ error: Type.String(), message: Type.Optional(Type.String()) });

const JobView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  queue: Type.String(),
  state: Type.String(),
  data: Type.Unknown(),
  progress: Type.Unknown(),
  attemptsMade: Type.Integer(),
  failedReason: Type.Union([Type.String(), Type.Null()]),
  returnValue: Type.Unknown(),
  createdAt: Type.String({ format: 'date-time' }),
  processedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  finishedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

const QueueView = Type.Object({
  name: Type.String(),
  counts: Type.Record(Type.String(), Type.Integer()),
  isPaused: Type.Boolean(),
  oldestWaitingAgeMs: Type.Union([Type.Integer(), Type.Null()]),
});

type Snapshot = NonNullable<Awaited<ReturnType<JobQueues['getJob']>>>;

function toJobView(job: Snapshot) {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return {
    id: job.id,
    name: job.name,
    queue: job.queue,
    state: job.state,
    data: job.data,
    progress: job.progress,
    attemptsMade: job.attemptsMade,
    failedReason: job.failedReason,
    returnValue: job.returnValue,
    createdAt: new Date(job.timestamp).toISOString(),
    processedAt: iso(job.processedOn),
    finishedAt: iso(job.finishedOn),
  };
}

export const jobsRoutes: FastifyPluginAsyncTypebox<{ queues: JobQueues; rearm: FailedJobRearm }> = async (app, { queues, rearm }) => {
  app.get('/api/queues', { schema: { response: { 200: Type.Object({ queues: Type.Array(QueueView) }) } } }, async () => ({
    queues: await queues.overview(),
  }));

  app.get(
    '/api/jobs/:queue/:id',
    { schema: { params: Type.Object({ queue: QueueParam, id: Type.String({ minLength: 1 }) }), response: { 200: JobView, '4xx': ErrorResponse } } },
    async (request) => {
      const job = await queues.getJob(request.params.queue, request.params.id);
      if (!job) throw notFound('Job');
      return toJobView(job);
    },
  );

  app.get(
    '/api/queues/:queue/failed',
    {
      schema: {
        params: Type.Object({ queue: QueueParam }),
        querystring: Type.Object(
          { limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }), offset: Type.Integer({ minimum: 0, default: 0 }) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ items: Type.Array(JobView), total: Type.Integer(), limit: Type.Integer(), offset: Type.Integer() }),
          '4xx': ErrorResponse,
        },
      },
    },
    async (request) => {
      const { limit, offset } = request.query;
      const page = await queues.listFailed(request.params.queue, offset, limit);
      return { items: page.items.map(toJobView), total: page.total, limit, offset };
    },
  );

  app.post(
    '/api/queues/:queue/failed/:id/retry',
    {
      schema: {
        params: Type.Object({ queue: QueueParam, id: Type.String({ minLength: 1 }) }),
        response: { 200: Type.Object({ id: Type.String(), queue: Type.String(), state: Type.Literal('waiting') }), '4xx': ErrorResponse },
      },
    },
    async (request) => {
      const { queue, id } = request.params;
      const job = await queues.getJob(queue, id);
      if (!job) throw notFound('Job');
      if (job.state !== 'failed') throw conflict(`Job ${id} is ${job.state}, not failed; only failed jobs can be retried`);
      // The database first, then the queue (see failed-job-rearm.ts for why this order).
      const preparation = await rearm(job);
      if (!preparation.isAllowed) throw conflict(preparation.reason);
      const outcome = await queues.retryFailed(queue, id);
      if (outcome === 'not_found') throw notFound('Job');
      if (outcome === 'not_failed') throw conflict(`Job ${id} is no longer failed (retried meanwhile?); only failed jobs can be retried`);
      request.log.info({ queue, jobId: id, isRearmed: preparation.isRearmed }, 'Failed job retried by an operator');
      return { id, queue, state: 'waiting' as const };
    },
  );
};
