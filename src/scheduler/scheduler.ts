/**
 * The scheduler: for each schedule, a timer to its next tick, and at each tick one enqueue whose job
 * id is `tick|<schedule>|<tick time>`. Every scheduler process computes the same tick times from the
 * same cron pattern, so however many run, the atomic deduplicated enqueue lets each tick through
 * exactly once; there is no leader to elect, no lock to expire, and a killed scheduler leaves no gap
 * as long as another one runs.
 *
 * At start each schedule also enqueues its most recent past tick: a tick missed while everything was
 * down runs once (not once per missed tick), and one that already ran is a duplicate, because tick
 * jobs are kept for at least two intervals.
 */
import type { Logger } from '../lib/logger.js';
import { errorMessage } from '../lib/errors.js';
import { nextTick, previousTick, tickInterval } from '../lib/cron.js';
import { JOB_CATALOG } from '../queue/job-catalog.js';
import type { JobQueues } from '../queue/job-queues.js';
import { QUEUE_NAMES, type QueueName } from '../queue/queue-names.js';
import type { ScheduleRegistry } from '../queue/schedule-registry.js';
import type { ResolvedSchedule } from './schedules.js';

const RETRY_MS = 1000;
const MIN_KEEP_SECONDS = 3600;

export function tickJobId(schedule: string, tickAt: number): string {
  return `tick|${schedule}|${tickAt}`;
}

export class Scheduler {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private isStopped = false;

  constructor(
    private readonly schedules: ResolvedSchedule[],
    private readonly queues: Pick<JobQueues, 'enqueueBatch' | 'removeWaitingJobs'>,
    private readonly registry: ScheduleRegistry,
    private readonly log: Logger,
  ) {}

  /** Arms every schedule at once; registers the list in the background (Redis may be away at start). */
  start(now = new Date()): void {
    void this.register();
    for (const schedule of this.schedules) {
      const missed = previousTick(schedule.pattern, schedule.tz, now);
      if (missed) void this.fire(schedule, missed.getTime(), { isCatchUp: true });
      else this.armNext(schedule);
    }
  }

  private async register(): Promise<void> {
    while (!this.isStopped) {
      try {
        const removed = await this.registry.replace(
          this.schedules.map((s) => ({ name: s.name, pattern: s.pattern, tz: s.tz, queue: JOB_CATALOG[s.name].queue, description: s.description })),
        );
        for (const old of removed) {
          const dropped = isQueueName(old.queue) ? await this.queues.removeWaitingJobs(old.queue, `tick|${old.name}|`) : 0;
          this.log.info({ schedule: old.name, droppedTicks: dropped }, 'Schedule removed');
        }
        return;
      } catch (error) {
        this.log.warn({ err: { message: errorMessage(error) } }, 'Could not register the schedules yet; retrying');
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
    }
  }

  stop(): void {
    this.isStopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  private armNext(schedule: ResolvedSchedule): void {
    if (this.isStopped) return;
    const next = nextTick(schedule.pattern, schedule.tz, new Date()).getTime();
    const timer = setTimeout(() => void this.fire(schedule, next, { isCatchUp: false }), Math.max(0, next - Date.now()));
    this.timers.set(schedule.name, timer);
  }

  /** Enqueues one tick, retrying while Redis is away until the next tick makes this one moot. */
  private async fire(schedule: ResolvedSchedule, tickAt: number, options: { isCatchUp: boolean }): Promise<void> {
    const nextAt = nextTick(schedule.pattern, schedule.tz, new Date(tickAt)).getTime();
    const keepSeconds = Math.max(MIN_KEEP_SECONDS, Math.ceil((2 * tickInterval(schedule.pattern, schedule.tz, new Date(tickAt))) / 1000));
    const jobId = tickJobId(schedule.name, tickAt);
    while (!this.isStopped) {
      try {
        const [result] = await this.queues.enqueueBatch([
          { name: schedule.name, payload: { schedule: schedule.name, tickAt }, jobId, keepCompletedSeconds: keepSeconds },
        ]);
        if (result && !result.isDuplicate) {
          this.log.info({ schedule: schedule.name, tickAt: new Date(tickAt).toISOString(), jobId, isCatchUp: options.isCatchUp }, `Scheduled ${schedule.name}`);
          await this.registry.markRun(schedule.name, tickAt).catch(() => undefined);
        }
        break;
      } catch (error) {
        if (Date.now() + RETRY_MS >= nextAt) {
          this.log.error({ schedule: schedule.name, tickAt, err: { message: errorMessage(error) } }, 'Tick not enqueued; the next one takes over');
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
    }
    this.armNext(schedule);
  }
}


function isQueueName(name: string): name is QueueName {
  return (QUEUE_NAMES as readonly string[]).includes(name);
}
