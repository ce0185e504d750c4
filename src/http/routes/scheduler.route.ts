/** `GET /api/scheduler`: every schedule with its pattern, time zone, queue, last run and next run. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { nextTick } from '../../lib/cron.js';
import type { ScheduleRegistry } from '../../queue/schedule-registry.js';

const ScheduleView = Type.Object({
  name: Type.String(),
  description: Type.String(),
  pattern: Type.String(),
  timezone: Type.String(),
  queue: Type.String(),
  lastRunAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  nextRunAt: Type.String({ format: 'date-time' }),
});

export const schedulerRoutes: FastifyPluginAsyncTypebox<{ scheduleRegistry: ScheduleRegistry }> = async (app, { scheduleRegistry }) => {
  app.get('/api/scheduler', { schema: { response: { 200: Type.Object({ schedules: Type.Array(ScheduleView) }) } } }, async () => {
    const now = new Date();
    const schedules = await scheduleRegistry.list();
    return {
      schedules: schedules.map((s) => ({
        name: s.name,
        description: s.description,
        pattern: s.pattern,
        timezone: s.tz,
        queue: s.queue,
        lastRunAt: s.lastRunAt === null ? null : new Date(s.lastRunAt).toISOString(),
        nextRunAt: nextTick(s.pattern, s.tz, now).toISOString(),
      })),
    };
  });
};
