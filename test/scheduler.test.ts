/**
 * The scheduler role, as real processes: several schedulers enqueue each tick exactly once, a killed
 * one leaves no gap, a removed schedule stops firing, a missed run fires once, and no scheduler runs
 * a job handler.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { previousTick } from '../src/lib/cron.js';
import { TEST_ADMIN_TOKEN } from './support/config.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { startHarness, type Harness } from './support/harness.js';
import { FakeGateway } from './support/fake-gateway.js';
import { startRole, type SwitchboardProcess } from './support/processes.js';
import { SHARED_REDIS_URL, deletePrefix, uniquePrefix } from './support/redis.js';
import { waitFor } from './support/wait.js';

const EVERY_SECOND = '* * * * * *';
let db: TestDatabase;
let harness: Harness;
let prefix: string;
const running: SwitchboardProcess[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.kill('SIGKILL')));
  await harness?.close();
  await deletePrefix(prefix);
});

afterAll(async () => {
  await db.drop();
});

async function startHarnessFor(testPrefix: string): Promise<void> {
  prefix = testPrefix;
  harness = await startHarness({ databaseUrl: db.url, redisUrl: SHARED_REDIS_URL, prefix });
}

async function spawnRole(role: 'scheduler' | 'worker', env: Record<string, string> = {}): Promise<SwitchboardProcess> {
  const { proc } = await startRole(role, {
    REDIS_URL: SHARED_REDIS_URL,
    QUEUE_PREFIX: prefix,
    DATABASE_URL: db.url,
    SCHEDULE_REMINDERS_TICK: EVERY_SECOND,
    ...env,
  });
  running.push(proc);
  return proc;
}

const spawnScheduler = (env: Record<string, string> = {}) => spawnRole('scheduler', env);

/** Tick times (ms) of every `reminders_tick` job in Redis, from the job ids. */
async function reminderTicks(): Promise<number[]> {
  const jobs = await harness.container.queues.queue('default').getJobs(['waiting', 'active', 'completed', 'failed', 'delayed']);
  return jobs
    .map((j) => j.id ?? '')
    .filter((id) => id.startsWith('tick|reminders_tick|'))
    .map((id) => Number(id.split('|')[2]))
    .sort((a, b) => a - b);
}

function scheduledLines(procs: SwitchboardProcess[], name: string): number[] {
  return procs.flatMap((p) => p.lines.filter((l) => l.msg === `Scheduled ${name}`).map((l) => Date.parse(String(l['tickAt']))));
}

describe('several schedulers', () => {
  it('three processes with a 1-second pattern enqueue each tick exactly once, with no gaps; none runs a job', async () => {
    await startHarnessFor(uniquePrefix());
    const schedulers = await Promise.all([spawnScheduler(), spawnScheduler(), spawnScheduler()]);
    const started = Date.now();
    await waitFor(async () => (await reminderTicks()).filter((t) => t > started).length >= 10, { timeoutMs: 30_000, what: 'ten seconds of ticks' });

    const ticks = await reminderTicks();
    expect(new Set(ticks).size).toBe(ticks.length);
    const sinceStart = ticks.filter((t) => t > started);
    for (let i = 1; i < sinceStart.length; i += 1) expect((sinceStart[i] ?? 0) - (sinceStart[i - 1] ?? 0)).toBe(1000);
    // Every tick was logged as scheduled by exactly one of the three processes.
    await waitFor(() => scheduledLines(schedulers, 'reminders_tick').filter((t) => sinceStart.includes(t)).length === sinceStart.length, {
      what: 'the Scheduled log lines',
    });
    const logged = scheduledLines(schedulers, 'reminders_tick');
    expect(logged.length).toBe(new Set(logged).size);

    // No scheduler runs a handler: the ticks wait for a worker.
    expect(schedulers.some((p) => p.hasLog('Job finished') || p.hasLog('Job failed'))).toBe(false);
    const counts = await harness.container.queues.getJobCounts('default');
    expect(counts['completed']).toBe(0);
    expect(counts['active']).toBe(0);
  });

  it('the scheduler that is firing is SIGKILLed: ticks continue within two intervals', async () => {
    await startHarnessFor(uniquePrefix());
    const schedulers = await Promise.all([spawnScheduler(), spawnScheduler()]);
    const firstTick = await waitFor(() => scheduledLines(schedulers, 'reminders_tick')[0], { what: 'a first tick' });
    const firing = schedulers.find((p) => p.hasLog('Scheduled reminders_tick', (l) => Date.parse(String(l['tickAt'])) === firstTick));
    expect(firing).toBeDefined();
    await firing?.kill('SIGKILL');
    const killedAt = Date.now();
    await waitFor(async () => (await reminderTicks()).some((t) => t > killedAt + 1000), { timeoutMs: 10_000, what: 'a tick after the kill' });
    const after = (await reminderTicks()).filter((t) => t > killedAt - 1000);
    for (let i = 1; i < after.length; i += 1) expect((after[i] ?? 0) - (after[i - 1] ?? 0)).toBeLessThanOrEqual(2000);
  });
});

describe('start-up', () => {
  it('a schedule removed from the list is unregistered and its waiting ticks dropped; GET /api/scheduler lists the current ones', async () => {
    await startHarnessFor(uniquePrefix());
    // What an older version left behind: a registered schedule that no longer exists, with a waiting tick.
    await harness.container.scheduleRegistry.replace([{ name: 'legacy_sweep', pattern: EVERY_SECOND, tz: 'UTC', queue: 'low', description: 'gone' }]);
    await harness.container.queues.enqueue('sessions_sweep', { schedule: 'legacy_sweep', tickAt: 1 }, 'tick|legacy_sweep|1');

    const scheduler = await spawnScheduler();
    await scheduler.waitForLog('Schedule removed', (l) => l['schedule'] === 'legacy_sweep');
    expect(await harness.container.queues.getJob('low', 'tick|legacy_sweep|1')).toBeNull();

    const response = await harness.app.inject({ url: '/api/scheduler', headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
    expect(response.statusCode).toBe(200);
    const { schedules } = response.json<{ schedules: Array<{ name: string; pattern: string; nextRunAt: string; lastRunAt: string | null }> }>();
    expect(schedules.map((s) => s.name)).toEqual(['receipts_reconcile', 'reminders_tick', 'retention_cleanup', 'sessions_sweep']);
    const reminders = schedules.find((s) => s.name === 'reminders_tick');
    expect(reminders?.pattern).toBe(EVERY_SECOND);
    expect(Date.parse(reminders?.nextRunAt ?? '')).toBeGreaterThan(Date.now() - 1000);
    await waitFor(async () => {
      const again = await harness.app.inject({ url: '/api/scheduler', headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
      return again.json<{ schedules: Array<{ name: string; lastRunAt: string | null }> }>().schedules.find((s) => s.name === 'reminders_tick')?.lastRunAt;
    }, { what: 'a last run' });
  });

  it('a daily run missed while nothing ran fires once at start-up, not once per scheduler or per missed day', async () => {
    await startHarnessFor(uniquePrefix());
    const first = await spawnScheduler();
    const second = await spawnScheduler();
    const due = previousTick('0 0 3 * * *', 'UTC', new Date())?.getTime();
    await waitFor(async () => (await harness.container.queues.getJob('maintenance', `tick|retention_cleanup|${due}`))?.state === 'waiting', {
      what: 'the missed daily run',
    });
    const jobs = await harness.container.queues.queue('maintenance').getJobs(['waiting']);
    expect(jobs.map((j) => j.id)).toEqual([`tick|retention_cleanup|${due}`]);
    expect(scheduledLines([first, second], 'retention_cleanup')).toEqual([due]);
  });
});

describe('reminders end to end', () => {
  it('100 reminders due now, three schedulers, two workers → exactly 100 sends, one per reminder', async () => {
    await startHarnessFor(uniquePrefix());
    const gatewaySecret = 'scheduler-test-gateway-secret';
    const gateway = await FakeGateway.start({ secret: gatewaySecret });
    try {
      await db.query("insert into tenants (id, name) values ('acme', 'Acme') on conflict do nothing");
      await db.query(
        `insert into reminders (tenant_id, to_jid, text, due_at)
         select 'acme', '9725000' || lpad(i::text, 5, '0') || '@s.whatsapp.net', 'Your appointment is tomorrow at 10:00 (#' || i || ')', now()
           from generate_series(1, 100) as i`,
      );
      const workerEnv = { GATEWAY_URL: gateway.url, GATEWAY_SECRET: gatewaySecret, WORKER_QUEUES: 'default,high', JOB_BACKOFF_MS: '50' };
      await Promise.all([spawnScheduler(), spawnScheduler(), spawnScheduler(), spawnRole('worker', workerEnv), spawnRole('worker', workerEnv)]);

      await gateway.waitForSends(100, 30_000);
      // Let several more ticks run through both workers before counting: none may send again.
      const countedAt = Date.now();
      await waitFor(async () => {
        const ticks = await harness.container.queues.queue('default').getJobs(['completed']);
        return ticks.filter((j) => j.id?.startsWith('tick|reminders_tick|') && Number(j.id.split('|')[2]) > countedAt + 2000).length > 0;
      }, { timeoutMs: 15_000, what: 'more ticks after the sends' });
      expect(gateway.sends).toHaveLength(100);
      expect(gateway.distinctIdempotencyKeys()).toHaveLength(100);
      expect(new Set(gateway.sends.map((s) => s.body.to)).size).toBe(100);
      const states = await db.query<{ state: string; n: string }>('select state, count(*) as n from reminders group by state');
      expect(states).toEqual([{ state: 'queued', n: '100' }]);
      gateway.assertNoUnexpected();
    } finally {
      await gateway.close();
    }
  });
});
