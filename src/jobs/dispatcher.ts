/**
 * Runs one job: checks its name and payload against the catalogue (Redis is a boundary too), calls
 * its handler with a scoped logger, and logs and counts the outcome. Bad payloads fail permanently;
 * handler errors are rethrown untouched so BullMQ retries them with backoff, unless they are
 * `PermanentJobError`s.
 */
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import type { TSchema } from '@sinclair/typebox';
import { errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { Metrics } from '../lib/metrics.js';
import { JOB_CATALOG, JOB_NAMES, isJobName, type JobName } from '../queue/job-catalog.js';
import { PermanentJobError } from '../queue/job-errors.js';
import { isPostponed, type JobProcessor } from '../queue/job-workers.js';
import type { JobDeps, JobHandler } from './job-context.js';
import { JOB_HANDLERS } from './handlers.js';

const payloadChecks = Object.fromEntries(
  JOB_NAMES.map((name) => [name, TypeCompiler.Compile(JOB_CATALOG[name].payload as TSchema)]),
) as Record<JobName, TypeCheck<TSchema>>;

export interface Dispatcher extends JobProcessor {
  /** Loads these jobs' handlers now instead of on their first job. */
  preload(names: readonly JobName[]): Promise<void>;
}

export function createDispatcher(deps: JobDeps, log: Logger, metrics: Metrics): Dispatcher {
  const handlers = new Map<JobName, JobHandler<unknown>>();
  const handlerFor = async (name: JobName): Promise<JobHandler<unknown>> => {
    let handler = handlers.get(name);
    if (!handler) {
      handler = (await JOB_HANDLERS[name]()) as JobHandler<unknown>;
      handlers.set(name, handler);
    }
    return handler;
  };

  const dispatch: JobProcessor = async (job) => {
    const attempt = job.attemptsMade + 1;
    // `run` also counts re-runs after a crashed worker, which are not failed attempts.
    const jobLog = log.child({ queue: job.queue, jobId: job.id, job: job.name, attempt, run: job.attemptsStarted });
    const started = performance.now();
    // Debug only: "Job finished" or "Job failed" says the same at info, one line per job instead of two.
    jobLog.debug('Job started');
    try {
      if (!isJobName(job.name)) throw new PermanentJobError(`Unknown job name "${job.name}"`);
      const check = payloadChecks[job.name];
      if (!check.Check(job.data)) {
        const first = check.Errors(job.data).First();
        throw new PermanentJobError(`Invalid payload: ${first ? `${first.path} ${first.message}` : 'does not match its schema'}`);
      }
      const handler = await handlerFor(job.name);
      const result = await handler(job.data, { log: jobLog, job, deps });
      const seconds = (performance.now() - started) / 1000;
      metrics.jobSeconds.observe({ queue: job.queue, name: job.name }, seconds);
      metrics.jobs.inc({ queue: job.queue, name: job.name, outcome: 'completed' });
      jobLog.info({ durationMs: Math.round(seconds * 1000) }, 'Job finished');
      return result;
    } catch (error) {
      if (isPostponed(error)) {
        // Delayed on purpose (rate limit, paused broadcast): not an attempt, not a failure.
        metrics.jobs.inc({ queue: job.queue, name: job.name, outcome: 'postponed' });
        jobLog.debug({ reason: errorMessage(error) }, 'Job postponed');
        throw error;
      }
      const isFinal = error instanceof PermanentJobError || attempt >= job.maxAttempts;
      metrics.jobs.inc({ queue: job.queue, name: job.name, outcome: isFinal ? 'failed' : 'retried' });
      jobLog.warn(
        { reason: errorMessage(error), maxAttempts: job.maxAttempts, willRetry: !isFinal, durationMs: Math.round(performance.now() - started) },
        'Job failed',
      );
      throw error;
    }
  };
  return Object.assign(dispatch, {
    preload: async (names: readonly JobName[]) => {
      await Promise.all(names.map((name) => handlerFor(name)));
    },
  });
}
