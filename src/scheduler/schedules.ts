/**
 * The declarative list of periodic work. Each schedule enqueues one job per tick; the pattern can be
 * overridden per deployment (`SCHEDULE_<NAME>`), the time zone is SCHEDULER_TZ. A schedule removed
 * from this list stops firing at the next start-up of the scheduler.
 */
import type { Config } from '../config.js';
import type { JobName } from '../queue/job-catalog.js';

export interface ScheduleDefinition {
  name: JobName;
  defaultPattern: string;
  description: string;
  /** The config variable that overrides the pattern. */
  override: keyof Config;
}

export const SCHEDULES: readonly ScheduleDefinition[] = [
  {
    name: 'reminders_tick',
    defaultPattern: '0 * * * * *',
    description: 'Turns due reminders into WhatsApp sends',
    override: 'SCHEDULE_REMINDERS_TICK',
  },
  {
    name: 'sessions_sweep',
    defaultPattern: '0 */5 * * * *',
    description: 'Summarises conversations that went quiet',
    override: 'SCHEDULE_SESSIONS_SWEEP',
  },
  {
    name: 'receipts_reconcile',
    defaultPattern: '30 */5 * * * *',
    description: 'Applies stored receipts whose message has appeared',
    override: 'SCHEDULE_RECEIPTS_RECONCILE',
  },
  {
    name: 'retention_cleanup',
    defaultPattern: '0 0 3 * * *',
    description: 'Deletes data and job records older than RETENTION_DAYS',
    override: 'SCHEDULE_RETENTION_CLEANUP',
  },
];

export interface ResolvedSchedule {
  name: JobName;
  pattern: string;
  tz: string;
  description: string;
}

export function resolveSchedules(config: Config): ResolvedSchedule[] {
  return SCHEDULES.map((s) => {
    const override = config[s.override];
    return {
      name: s.name,
      pattern: typeof override === 'string' ? override : s.defaultPattern,
      tz: config.SCHEDULER_TZ,
      description: s.description,
    };
  });
}
