/**
 * Issue 5's crash acceptance: every worker process (`node --import tsx src/main.ts`) of a running
 * 500-recipient broadcast is SIGKILLed at about half way and new ones are started; still exactly 500
 * distinct sends, the broadcast completes, and the bar sampled meanwhile never goes backwards.
 *
 * The in-process harness only serves the API and reads state: it runs no worker.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminAuth, recipients, type BroadcastProgress } from './support/broadcasts.js';
import type { TestDatabase } from './support/database.js';
import type { FakeGateway } from './support/fake-gateway.js';
import type { Harness } from './support/harness.js';
import { startRole, type SwitchboardProcess } from './support/processes.js';
import { SHARED_REDIS_URL } from './support/redis.js';
import { startTestStack, type TestStack } from './support/stack.js';
import { waitFor } from './support/wait.js';

const TENANT = 'acme';
const GATEWAY_SECRET = 'test-gateway-secret-0123456789';

let stack: TestStack;
let db: TestDatabase;
let harness: Harness;
let prefix: string;
let gateway: FakeGateway;
const processes: SwitchboardProcess[] = [];

async function spawnWorker(): Promise<SwitchboardProcess> {
  const { proc } = await startRole('worker', {
    REDIS_URL: SHARED_REDIS_URL,
    QUEUE_PREFIX: prefix,
    DATABASE_URL: db.url,
    GATEWAY_URL: gateway.url,
    GATEWAY_SECRET,
    WORKER_QUEUES: 'broadcasts',
    WORKER_CONCURRENCY: '8',
    WORKER_LOCK_MS: '2000',
    WORKER_STALLED_INTERVAL_MS: '1000',
    JOB_BACKOFF_MS: '50',
  });
  processes.push(proc);
  return proc;
}

async function progressOf(id: string): Promise<BroadcastProgress> {
  const response = await harness.app.inject({ method: 'GET', url: `/api/tenants/${TENANT}/broadcasts/${id}`, headers: adminAuth });
  expect(response.statusCode).toBe(200);
  return response.json<BroadcastProgress>();
}

beforeAll(async () => {
  // The harness only serves the API: the worker processes get the gateway's address (spawnWorker).
  stack = await startTestStack({ gatewaySecret: GATEWAY_SECRET, wireHarness: false });
  ({ db, harness, prefix, gateway } = stack);
  await harness.container.tenants.create({ id: TENANT, name: 'Acme', webhook_secret: null, system_prompt: null });
});

afterAll(() => stack?.close(() => Promise.all(processes.map((p) => p.kill('SIGKILL')))));

describe('a broadcast whose every worker is SIGKILLed half way', () => {
  it('still sends exactly 500 distinct messages, completes, and its bar never goes backwards', async () => {
    const jids = recipients(30, 500);
    const created = await harness.app.inject({
      method: 'POST',
      url: `/api/tenants/${TENANT}/broadcasts`,
      headers: adminAuth,
      payload: { name: 'Crash', text: 'Survive this', recipients: jids, ratePerMinute: 3000 },
    });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json<BroadcastProgress>().id;

    const samples: number[] = [];
    let isSampling = true;
    const sampler = (async () => {
      while (isSampling) {
        samples.push((await progressOf(id)).progress);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();

    let done: BroadcastProgress;
    try {
      const first = await Promise.all([spawnWorker(), spawnWorker()]);
      await gateway.waitForSends(250, 30_000);
      await Promise.all(first.map((p) => p.kill('SIGKILL')));
      const atKill = gateway.sends.length;
      expect(atKill).toBeLessThan(450);
      expect((await progressOf(id)).state).toBe('running');

      await Promise.all([spawnWorker(), spawnWorker()]);
      done = await waitFor(
        async () => {
          const view = await progressOf(id);
          return view.state === 'completed' ? view : undefined;
        },
        { timeoutMs: 45_000, what: 'the broadcast completed after the restart' },
      );
    } finally {
      isSampling = false;
      await sampler;
    }

    expect(done).toMatchObject({ total: 500, sent: 500, failed: 0, skipped: 0, pending: 0, progress: 1 });
    const keys = gateway.distinctIdempotencyKeys();
    expect(keys).toHaveLength(500);
    expect(new Set(gateway.sends.map((s) => s.body.to)).size).toBe(500);
    // One key per recipient, whatever was re-sent after the kill.
    const keysPerRecipient = new Map<string, Set<string>>();
    for (const send of gateway.sends) keysPerRecipient.set(send.body.to, (keysPerRecipient.get(send.body.to) ?? new Set()).add(send.idempotencyKey));
    expect([...keysPerRecipient.values()].every((set) => set.size === 1)).toBe(true);
    const outbox = await db.query<{ n: string }>(`select count(*) as n from outbox where purpose = 'broadcast'`);
    expect(Number(outbox[0]?.n)).toBe(500);

    expect(samples.length).toBeGreaterThan(10);
    for (let i = 1; i < samples.length; i += 1) expect(samples[i] ?? 0).toBeGreaterThanOrEqual(samples[i - 1] ?? 0);
    expect(samples.some((p) => p > 0 && p < 1)).toBe(true);
  });
});
