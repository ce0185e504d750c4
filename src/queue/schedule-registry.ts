/**
 * Which schedules exist and when each last fired, kept in Redis beside the queues: the scheduler
 * writes it, the API reads it for `GET /api/scheduler`. A scheduler start replaces the whole list,
 * so a schedule removed from the code disappears from it (and its waiting ticks are dropped).
 */
import type { Redis } from 'ioredis';

export interface RegisteredSchedule {
  name: string;
  pattern: string;
  tz: string;
  queue: string;
  description: string;
}

export interface ScheduleState extends RegisteredSchedule {
  /** The last tick enqueued (epoch ms), by any scheduler process. */
  lastRunAt: number | null;
}

export class ScheduleRegistry {
  private readonly listKey: string;
  private readonly runsKey: string;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.listKey = `${prefix}:switchboard:schedules`;
    this.runsKey = `${prefix}:switchboard:schedule-runs`;
  }

  /** Replaces the list atomically; returns the schedules that were registered before and are gone now. */
  async replace(schedules: RegisteredSchedule[]): Promise<RegisteredSchedule[]> {
    const before = Object.values(await this.redis.hgetall(this.listKey)).map((json) => JSON.parse(json) as RegisteredSchedule);
    const names = new Set(schedules.map((s) => s.name));
    const multi = this.redis.multi().del(this.listKey);
    for (const s of schedules) multi.hset(this.listKey, s.name, JSON.stringify(s));
    const removed = before.filter((s) => !names.has(s.name));
    if (removed.length > 0) multi.hdel(this.runsKey, ...removed.map((s) => s.name));
    await multi.exec();
    return removed;
  }

  async markRun(name: string, tickAt: number): Promise<void> {
    // Several schedulers may report the same tick, in any order: keep the latest.
    const current = Number(await this.redis.hget(this.runsKey, name));
    if (!(current >= tickAt)) await this.redis.hset(this.runsKey, name, String(tickAt));
  }

  async list(): Promise<ScheduleState[]> {
    const [entries, runs] = await Promise.all([this.redis.hgetall(this.listKey), this.redis.hgetall(this.runsKey)]);
    return Object.values(entries)
      .map((json) => JSON.parse(json) as RegisteredSchedule)
      .map((s) => ({ ...s, lastRunAt: runs[s.name] ? Number(runs[s.name]) : null }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }
}
