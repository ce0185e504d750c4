/**
 * End-to-end benchmark: webhook → stored → AI → gateway, with every role running as in production.
 *
 *   npm run bench:e2e
 *
 * Arrange: `npm run build`, a fresh PostgreSQL database (migrated, tenant `bench` with a system
 * prompt), a private BullMQ prefix on the shared Redis, the local fake OpenAI server (fixed latency,
 * a short answer) and the local fake gateway (secret checked), both in this process; then
 * `node dist/main.js` as one `api` process and BENCH_WORKERS `worker` processes, logs in files under
 * bench/results/. Act: 5,000 messages from 500 chats, posted as `messages.upsert` webhooks of
 * BENCH_BATCH consecutive messages each (default 1), 64 in flight, as fast as the API takes them.
 * Assert: every message answered exactly once, every outbox row sent exactly once (one idempotency
 * key each), no failed job. Report messages/s, sends/s and the webhook-to-send
 * latency of every message. Everything is torn down in `finally`. See bench/README.md.
 */
import { createReadStream, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { outboxIdempotencyKey } from '../src/queue/job-ids.js';
import { QUEUE_NAMES, type QueueName } from '../src/queue/queue-names.js';
import { FakeGateway } from '../test/support/fake-gateway.js';
import { FakeOpenAI } from '../test/support/fake-openai.js';
import { freePort } from '../test/support/private-redis.js';
import { printProfiles, type ProfileSummary } from './cpu-profile.js';
import { KeepAliveClient } from './keep-alive-client.js';
import { API_NODE_ARGS, batchSizeEnv } from './ingest-core.js';
import {
  InterruptedError,
  RESULTS_DIR,
  SHARED_REDIS_URL,
  WEBHOOK_PATH,
  build,
  cpuByGroup,
  createBenchDatabase,
  deletePrefix,
  dropBenchDatabase,
  errorText,
  gitState,
  installInterruptHandler,
  intEnv,
  isInterrupted,
  isRunning,
  machineCpu,
  machineCpuShares,
  parseOkBody,
  randomHex,
  readProcStatusMb,
  round,
  say,
  sleep,
  snapshotCpu,
  startSwitchboard,
  stopSwitchboard,
  throwIfInterrupted,
  waitForHealth,
  warnIfNotReady,
  type ProcessCpu,
  type SwitchboardChild,
} from './support.js';

const TENANT_ID = 'bench';
const SYSTEM_PROMPT = 'You are the WhatsApp assistant of the Benchmark Bakery. Answer in one short sentence.';
const AI_ANSWER = 'Thanks for your message! We will get back to you shortly.';
const AI_MODEL = 'bench-model';
const POLL_MS = 250;
/** After the last message is answered, how long the queues may take to settle (send jobs completing). */
const SETTLE_TIMEOUT_MS = 30_000;

// ---------------------------------------------------------------------------------------------------
// Settings

interface Settings {
  messages: number;
  chats: number;
  /** BENCH_BATCH: messages per webhook request (consecutive messages of the load, any chats). */
  batchSize: number;
  /** Webhook requests in flight. */
  concurrency: number;
  aiLatencyMs: number;
  debounceMs: number;
  summaryIdleMs: number;
  workers: number;
  workerConcurrency: string;
  workerQueues: string;
  /** DATABASE_POOL_SIZE of each Switchboard process; undefined = Switchboard's default. */
  poolSize: number | undefined;
  timeoutSeconds: number;
  /** BENCH_DRAIN=1: workers paused while the load is posted, then drain the backlog (a cleaner CPU signal). */
  drain: boolean;
  /** Directory of PostgreSQL's Unix socket for the Switchboard processes; undefined = TCP 127.0.0.1. */
  pgSocketDir: string | undefined;
  logLevel: string;
  skipBuild: boolean;
  cpuProfile: boolean;
  /** BENCH_WORKER_NODE_ARGS: extra Node.js flags for the worker processes (space-separated). */
  workerNodeArgs: string[];
}

function readSettings(): Settings {
  const pool = process.env['BENCH_DB_POOL_SIZE'];
  return {
    messages: intEnv('BENCH_MESSAGES', 5000, 1),
    chats: intEnv('BENCH_CHATS', 500, 1),
    batchSize: batchSizeEnv(),
    concurrency: intEnv('BENCH_CONCURRENCY', 64, 1),
    aiLatencyMs: intEnv('BENCH_AI_LATENCY_MS', 50, 0),
    debounceMs: intEnv('BENCH_DEBOUNCE_MS', 0, 0),
    summaryIdleMs: intEnv('BENCH_SUMMARY_IDLE_MS', 3_600_000, 0),
    workers: intEnv('BENCH_WORKERS', 1, 1),
    workerConcurrency: process.env['BENCH_WORKER_CONCURRENCY'] || 'default=64,high=64,low=8',
    workerQueues: process.env['BENCH_WORKER_QUEUES'] || 'high,default,low',
    poolSize: pool ? intEnv('BENCH_DB_POOL_SIZE', 10, 1) : undefined,
    timeoutSeconds: intEnv('BENCH_TIMEOUT_S', 180, 1),
    drain: process.env['BENCH_DRAIN'] === '1',
    pgSocketDir: process.env['BENCH_PG_SOCKET'] || undefined,
    logLevel: process.env['BENCH_LOG_LEVEL'] || 'info',
    skipBuild: process.env['BENCH_SKIP_BUILD'] === '1',
    cpuProfile: process.env['BENCH_CPU_PROF'] === '1',
    workerNodeArgs: (process.env['BENCH_WORKER_NODE_ARGS'] ?? '').split(' ').filter((arg) => arg !== ''),
  };
}

installInterruptHandler();

// ---------------------------------------------------------------------------------------------------
// Load

/** One posted message. */
interface Post {
  chat: number;
  remoteJid: string;
  waMessageId: string;
  /** Index of the webhook request that carried it. */
  request: number;
  /** Epoch ms at which its webhook request started (the same clock as the fake gateway's receivedAt). */
  postedAt: number;
  /** Time to its webhook's full answer, ms. */
  ackMs: number;
  status: number;
  /** Its webhook answered 2xx with `enqueued` = the messages it carried (so this one became a new job). */
  accepted: boolean;
  error?: string;
}

/** One webhook request (BENCH_BATCH messages, fewer for the last one). */
interface WebhookRequest {
  messages: number;
  postedAt: number;
  ackMs: number;
  status: number;
  accepted: boolean;
  error?: string;
}

interface OutgoingMessage {
  chat: number;
  remoteJid: string;
  waMessageId: string;
  /** Its rank within its chat (0 = the chat's first message). */
  nth: number;
}

function chatJid(chat: number): string {
  return `9725${String(2_000_000 + chat)}@s.whatsapp.net`;
}

/** A Baileys `messages.upsert` carrying `messages` (of any chats), current timestamp (older messages are not answered). */
function upsertBody(messages: readonly OutgoingMessage[]): string {
  const timestamp = Math.floor(Date.now() / 1000);
  return JSON.stringify({
    tenantId: TENANT_ID,
    event: 'messages.upsert',
    payload: {
      type: 'notify',
      messages: messages.map(({ chat, remoteJid, waMessageId, nth }) => ({
        key: { remoteJid, fromMe: false, id: waMessageId },
        messageTimestamp: timestamp,
        pushName: `Customer ${chat}`,
        message: {
          conversation: `Message ${nth + 1} from chat ${chat}: is the order for tomorrow still on?`,
          messageContextInfo: { deviceListMetadataVersion: 2 },
        },
      })),
    },
  });
}

/**
 * Posts every message, `concurrency` requests in flight, `batchSize` consecutive messages per request
 * (the last one may carry fewer). Message i belongs to chat i mod chats, so each chat's messages are
 * spread over the whole load (chats × concurrency apart at one message per request), in order within
 * the chat; a request may carry messages of several chats, as a gateway's do.
 */
async function runLoad(options: { settings: Settings; baseUrl: string; secret: string; idPrefix: string }): Promise<{
  posts: Post[];
  requests: WebhookRequest[];
  startedAt: number;
  endedAt: number;
}> {
  const { settings, secret, idPrefix } = options;
  const url = new URL(options.baseUrl);
  const headers = { 'content-type': 'application/json', 'x-internal-secret': secret };
  const posts: Post[] = new Array<Post>(settings.messages);
  const requestCount = Math.ceil(settings.messages / settings.batchSize);
  const requests: WebhookRequest[] = new Array<WebhookRequest>(requestCount);
  const idWidth = 20 - idPrefix.length;
  let next = 0;
  const startedAt = Date.now();
  const clients: KeepAliveClient[] = [];
  const lane = async (): Promise<void> => {
    const client = new KeepAliveClient(url.hostname, Number(url.port), 10_000);
    clients.push(client);
    for (;;) {
      if (isInterrupted()) return;
      const r = next++;
      if (r >= requestCount) return;
      const first = r * settings.batchSize;
      const end = Math.min(settings.messages, first + settings.batchSize);
      const messages: OutgoingMessage[] = [];
      for (let i = first; i < end; i += 1) {
        const chat = i % settings.chats;
        messages.push({
          chat,
          remoteJid: chatJid(chat),
          waMessageId: `${idPrefix}${i.toString(16).toUpperCase().padStart(idWidth, '0')}`,
          nth: Math.floor(i / settings.chats),
        });
      }
      const body = upsertBody(messages);
      const postedAt = Date.now();
      const t0 = performance.now();
      let outcome: Omit<WebhookRequest, 'messages' | 'postedAt'>;
      try {
        const answer = await client.post(WEBHOOK_PATH, headers, body);
        const ok = answer.status >= 200 && answer.status < 300 ? parseOkBody(answer.text) : undefined;
        const accepted = ok !== undefined && ok.enqueued === messages.length;
        outcome = {
          ackMs: performance.now() - t0,
          status: answer.status,
          accepted,
          ...(accepted ? {} : { error: `HTTP ${answer.status}: ${answer.text.slice(0, 200)}` }),
        };
      } catch (error) {
        outcome = { ackMs: performance.now() - t0, status: 0, accepted: false, error: errorText(error) };
      }
      requests[r] = { messages: messages.length, postedAt, ...outcome };
      messages.forEach(({ chat, remoteJid, waMessageId }, k) => {
        posts[first + k] = { chat, remoteJid, waMessageId, request: r, postedAt, ...outcome };
      });
    }
  };
  try {
    await Promise.all(Array.from({ length: settings.concurrency }, () => lane()));
  } finally {
    for (const client of clients) client.close();
  }
  return {
    posts: posts.filter((p): p is Post => p !== undefined),
    requests: requests.filter((q): q is WebhookRequest => q !== undefined),
    startedAt,
    endedAt: Date.now(),
  };
}

// ---------------------------------------------------------------------------------------------------
// Progress and verification (PostgreSQL and BullMQ)

interface Progress {
  inbound: number;
  answered: number;
  /** Inbound messages skipped or failed: they will never be answered. */
  dropped: number;
  outbox: number;
  outboxSent: number;
  outboxFailed: number;
}

async function readProgress(db: pg.Pool): Promise<Progress> {
  const [messages, outbox] = await Promise.all([
    db.query<{ inbound: string; answered: string; dropped: string }>(
      `select count(*) as inbound,
              count(*) filter (where reply_state = 'answered') as answered,
              count(*) filter (where reply_state in ('skipped', 'failed')) as dropped
         from messages where tenant_id = $1 and not from_me`,
      [TENANT_ID],
    ),
    db.query<{ total: string; sent: string; failed: string }>(
      `select count(*) as total, count(*) filter (where state = 'sent') as sent, count(*) filter (where state = 'failed') as failed
         from outbox where tenant_id = $1`,
      [TENANT_ID],
    ),
  ]);
  const m = messages.rows[0];
  const o = outbox.rows[0];
  return {
    inbound: Number(m?.inbound ?? 0),
    answered: Number(m?.answered ?? 0),
    dropped: Number(m?.dropped ?? 0),
    outbox: Number(o?.total ?? 0),
    outboxSent: Number(o?.sent ?? 0),
    outboxFailed: Number(o?.failed ?? 0),
  };
}

interface InboundRow {
  remote_jid: string;
  wa_message_id: string;
  reply_state: string | null;
  outbox_id: string | null;
  /** Epoch ms (PostgreSQL's now() of the storing transaction). */
  stored_at: number;
  committed_at: number | null;
  outbox_to: string | null;
}

async function readInbound(db: pg.Pool): Promise<InboundRow[]> {
  const result = await db.query<{ remote_jid: string; wa_message_id: string; reply_state: string | null; outbox_id: string | null; stored_at: string; committed_at: string | null; outbox_to: string | null }>(
    `select m.remote_jid, m.wa_message_id, m.reply_state, m.outbox_id::text as outbox_id,
            extract(epoch from m.created_at) * 1000 as stored_at,
            extract(epoch from o.created_at) * 1000 as committed_at,
            o.to_jid as outbox_to
       from messages m left join outbox o on o.id = m.outbox_id
      where m.tenant_id = $1 and not m.from_me`,
    [TENANT_ID],
  );
  return result.rows.map((r) => ({
    ...r,
    stored_at: Number(r.stored_at),
    committed_at: r.committed_at === null ? null : Number(r.committed_at),
  }));
}

async function readOutbox(db: pg.Pool): Promise<Array<{ id: string; state: string; to_jid: string }>> {
  const result = await db.query<{ id: string; state: string; to_jid: string }>(`select id::text as id, state, to_jid from outbox where tenant_id = $1`, [TENANT_ID]);
  return result.rows;
}

interface DbStats {
  xactCommit: number;
  xactRollback: number;
  tupInserted: number;
  tupUpdated: number;
  tupReturned: number;
  tupFetched: number;
}

/** The bench database's own counters (pg_stat_database): what the whole run cost PostgreSQL. */
async function readDbStats(db: pg.Pool): Promise<DbStats> {
  const result = await db.query<{ xact_commit: string; xact_rollback: string; tup_inserted: string; tup_updated: string; tup_returned: string; tup_fetched: string }>(
    `select xact_commit, xact_rollback, tup_inserted, tup_updated, tup_returned, tup_fetched from pg_stat_database where datname = current_database()`,
  );
  const r = result.rows[0];
  return {
    xactCommit: Number(r?.xact_commit ?? 0),
    xactRollback: Number(r?.xact_rollback ?? 0),
    tupInserted: Number(r?.tup_inserted ?? 0),
    tupUpdated: Number(r?.tup_updated ?? 0),
    tupReturned: Number(r?.tup_returned ?? 0),
    tupFetched: Number(r?.tup_fetched ?? 0),
  };
}

type JobCounts = Record<string, number>;

async function queueCounts(redis: Redis, prefix: string, queues: readonly QueueName[]): Promise<Record<string, JobCounts>> {
  const result: Record<string, JobCounts> = {};
  for (const name of queues) {
    const queue = new Queue(name, { connection: redis, prefix });
    try {
      result[name] = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'paused', 'completed', 'failed', 'waiting-children');
    } finally {
      await queue.close();
    }
  }
  return result;
}

function unfinished(counts: JobCounts | undefined): number {
  if (!counts) return 0;
  return (counts['waiting'] ?? 0) + (counts['active'] ?? 0) + (counts['delayed'] ?? 0) + (counts['prioritized'] ?? 0) + (counts['paused'] ?? 0);
}

// ---------------------------------------------------------------------------------------------------
// Worker logs: which jobs ran, how long each took (wall time inside the worker, waits included)

interface JobLogDigest {
  lines: number;
  bytes: number;
  jobs: Record<string, { count: number; durationMs: Distribution }>;
}

async function digestWorkerLogs(files: string[]): Promise<JobLogDigest> {
  const durations = new Map<string, number[]>();
  let lines = 0;
  let bytes = 0;
  for (const file of files) {
    if (!existsSync(file)) continue;
    bytes += statSync(file).size;
    const reader = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
    for await (const line of reader) {
      lines += 1;
      if (!line.includes('"Job finished"')) continue;
      let entry: unknown;
      try {
        entry = JSON.parse(line);
      } catch {
        continue;
      }
      if (typeof entry !== 'object' || entry === null) continue;
      const record = entry as Record<string, unknown>;
      const job = record['job'];
      const ms = record['durationMs'];
      if (typeof job !== 'string' || typeof ms !== 'number') continue;
      const list = durations.get(job);
      if (list) list.push(ms);
      else durations.set(job, [ms]);
    }
  }
  const jobs: JobLogDigest['jobs'] = {};
  for (const [job, list] of durations) jobs[job] = { count: list.length, durationMs: distribution(list) };
  return { lines, bytes, jobs };
}

// ---------------------------------------------------------------------------------------------------
// Figures

/** Nearest-rank percentile of an ascending array. */
function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

interface Distribution {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

function distribution(values: number[]): Distribution {
  const sorted = [...values].sort((a, b) => a - b);
  const mean = sorted.reduce((s, v) => s + v, 0) / Math.max(1, sorted.length);
  return {
    count: sorted.length,
    p50: round(percentile(sorted, 50), 1),
    p90: round(percentile(sorted, 90), 1),
    p99: round(percentile(sorted, 99), 1),
    max: round(sorted[sorted.length - 1] ?? Number.NaN, 1),
    mean: round(mean, 1),
  };
}

function pctRow(d: Distribution): string {
  return `${d.p50} / ${d.p90} / ${d.p99} / ${d.max}`;
}

// ---------------------------------------------------------------------------------------------------
// Main

async function main(): Promise<number> {
  const settings = readSettings();
  mkdirSync(RESULTS_DIR, { recursive: true });
  const runTag = randomHex(3).toUpperCase();
  const stamp = new Date().toISOString().replace(/:/g, '-');
  const loadBefore = loadavg();
  say(
    `Switchboard e2e bench: ${settings.messages} messages from ${settings.chats} chats, BENCH_BATCH=${settings.batchSize} message(s) per webhook, ` +
      `${settings.concurrency} webhook requests in flight; ` +
      `AI latency ${settings.aiLatencyMs} ms; ${settings.workers} worker process(es), WORKER_CONCURRENCY=${settings.workerConcurrency}; ` +
      `load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')} on ${cpus().length} CPUs`,
  );
  say(
    `REPLY_DEBOUNCE_MS=${settings.debounceMs}` +
      (settings.debounceMs === 0 ? ': the latency measures the pipeline, not the burst debounce (a deployment waits 3 s by default).' : ': the latency includes the debounce wait.'),
  );

  const dbName = `switchboard_bench_${randomHex(6)}`;
  const prefix = `{sbbench-${randomHex(6)}}`;
  const secret = randomHex(24);
  const gatewaySecret = randomHex(24);
  const redisUrl = SHARED_REDIS_URL;
  const apiLog = join(RESULTS_DIR, 'e2e-api-last-run.log');
  const workerLog = (n: number): string => join(RESULTS_DIR, `e2e-worker-${n}-last-run.log`);
  const profileDir = join(RESULTS_DIR, `profiles-e2e-${stamp}`);
  let dbCreated = false;
  let openai: FakeOpenAI | undefined;
  let gateway: FakeGateway | undefined;
  const children: SwitchboardChild[] = [];
  let redis: Redis | undefined;
  let db: pg.Pool | undefined;
  let loadSampler: NodeJS.Timeout | undefined;
  const failures: string[] = [];

  try {
    if (!settings.skipBuild) build();
    throwIfInterrupted();
    dbCreated = true; // set before CREATE, so a half-made database is dropped too
    const databaseUrl = await createBenchDatabase(dbName, { id: TENANT_ID, name: 'Benchmark Bakery', system_prompt: SYSTEM_PROMPT });

    openai = await FakeOpenAI.start();
    openai.latencyMs = settings.aiLatencyMs;
    openai.answerWith(() => AI_ANSWER);
    gateway = await FakeGateway.start({ secret: gatewaySecret });

    if (settings.cpuProfile) mkdirSync(profileDir, { recursive: true });
    const nodeArgs = settings.cpuProfile ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [];
    const common: Record<string, string> = {
      HOST: '127.0.0.1',
      DATABASE_URL: settings.pgSocketDir ? `postgres://postgres@/${dbName}?host=${encodeURIComponent(settings.pgSocketDir)}` : databaseUrl,
      REDIS_URL: redisUrl,
      QUEUE_PREFIX: prefix,
      INTERNAL_SECRET: secret,
      ADMIN_TOKEN: randomHex(24),
      GATEWAY_URL: gateway.url,
      GATEWAY_SECRET: gatewaySecret,
      OPENAI_BASE_URL: openai.baseURL,
      OPENAI_API_KEY: 'bench-key',
      AI_MODEL,
      REPLY_DEBOUNCE_MS: String(settings.debounceMs),
      SUMMARY_IDLE_MS: String(settings.summaryIdleMs),
      WORKER_CONCURRENCY: settings.workerConcurrency,
      WORKER_QUEUES: settings.workerQueues,
      LOG_LEVEL: settings.logLevel,
      ...(settings.poolSize === undefined ? {} : { DATABASE_POOL_SIZE: String(settings.poolSize) }),
    };
    const apiPort = await freePort();
    const baseUrl = `http://127.0.0.1:${apiPort}`;
    const api = startSwitchboard({ name: 'API', logFile: apiLog, nodeArgs: [...API_NODE_ARGS, ...nodeArgs], env: { ...common, SERVICE_ROLE: 'api', PORT: String(apiPort) } });
    children.push(api);
    const workers: Array<{ process: SwitchboardChild; url: string }> = [];
    for (let n = 1; n <= settings.workers; n += 1) {
      const port = await freePort();
      const worker = startSwitchboard({ name: `worker ${n}`, logFile: workerLog(n), nodeArgs: [...settings.workerNodeArgs, ...nodeArgs], env: { ...common, SERVICE_ROLE: 'worker', PORT: String(port) } });
      children.push(worker);
      workers.push({ process: worker, url: `http://127.0.0.1:${port}` });
    }
    say(`API: pid ${String(api.child.pid)} on ${baseUrl}; workers: pid ${workers.map((w) => String(w.process.child.pid)).join(', ')}; database ${dbName}; prefix ${prefix}`);
    say(`Logs: ${apiLog}, ${workers.map((_, i) => workerLog(i + 1)).join(', ')}`);
    await waitForHealth(baseUrl, api);
    for (const worker of workers) await waitForHealth(worker.url, worker.process);
    await warnIfNotReady(baseUrl);
    for (const worker of workers) await warnIfNotReady(worker.url, worker.process.name);

    redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
    redis.on('error', () => undefined);
    db = new pg.Pool({ connectionString: databaseUrl, max: 2 });
    db.on('error', () => undefined);

    // Act: post everything, then poll until every accepted message is answered and its reply sent.
    throwIfInterrupted();
    say(`Posting ${settings.messages} messages in ${Math.ceil(settings.messages / settings.batchSize)} webhook requests…`);
    const pids = new Map<number, string>([[process.pid, 'bench (load + fakes)']]);
    for (const child of children) if (child.child.pid) pids.set(child.child.pid, child.name.startsWith('worker') ? 'worker' : 'api');
    const classify = (p: ProcessCpu): string | undefined =>
      pids.get(p.pid) ?? (p.comm === 'postgres' ? 'postgres' : p.comm.startsWith('redis-server') ? 'redis' : undefined);
    const dbStatsBefore = await readDbStats(db);
    const cpuBefore = snapshotCpu();
    const machineBefore = machineCpu();
    const loadSamples: number[] = [];
    loadSampler = setInterval(() => loadSamples.push(loadavg()[0] ?? 0), 1000);
    const deadline = Date.now() + settings.timeoutSeconds * 1000;
    // BENCH_DRAIN: the workers are stopped (SIGSTOP) while the load is posted and resumed once it is
    // all in Redis, so they drain a backlog with the API and the load generator idle.
    if (settings.drain) for (const worker of workers) worker.process.child.kill('SIGSTOP');
    const loadPromise = runLoad({ settings, baseUrl, secret, idPrefix: `3EB0E${runTag}` });
    if (settings.drain) {
      void loadPromise.finally(() => {
        for (const worker of workers) worker.process.child.kill('SIGCONT');
      }).catch(() => undefined);
    }

    let load: Awaited<typeof loadPromise> | undefined;
    void loadPromise.then(
      (result) => {
        load = result;
        say(`  posted in ${round((result.endedAt - result.startedAt) / 1000, 2)} s`);
      },
      () => undefined,
    );
    let progress: Progress = { inbound: 0, answered: 0, dropped: 0, outbox: 0, outboxSent: 0, outboxFailed: 0 };
    let lastReport = Date.now();
    let timedOut = false;
    for (;;) {
      throwIfInterrupted();
      for (const child of children) {
        if (!isRunning(child.child)) throw new Error(`${child.name} exited during the run (code ${String(child.child.exitCode)}); see ${child.logFile}`);
      }
      progress = await readProgress(db);
      if (load) {
        const accepted = load.posts.filter((p) => p.accepted).length;
        const sentKeys = new Set(gateway.sends.map((s) => s.idempotencyKey)).size;
        const allAnswered = progress.inbound >= accepted && progress.answered + progress.dropped >= progress.inbound;
        if (allAnswered && progress.outboxSent + progress.outboxFailed === progress.outbox && sentKeys >= progress.outboxSent) break;
      }
      if (Date.now() > deadline) {
        timedOut = true;
        break;
      }
      if (Date.now() - lastReport >= 5000) {
        lastReport = Date.now();
        say(`  stored ${progress.inbound}, answered ${progress.answered}, replies ${progress.outbox} (sent ${progress.outboxSent}), gateway sends ${gateway.sends.length}`);
      }
      await sleep(POLL_MS);
    }
    const doneAt = Date.now();
    const cpuAfter = snapshotCpu();
    const machineAfter = machineCpu();
    const machineShares = machineCpuShares(machineBefore, machineAfter);
    clearInterval(loadSampler);
    const loadAfterRun = loadavg();
    if (!load) load = await loadPromise; // only on a timeout during the posting itself
    const cpuGroups = cpuByGroup(cpuBefore, cpuAfter, classify);
    // Processes that started and ended within the window (other sessions' tests…) are not in the
    // snapshots: "other" is whatever the machine was busy with beyond the named groups.
    const namedCpu = Object.entries(cpuGroups).reduce((sum, [group, seconds]) => (group === 'other' ? sum : sum + seconds), 0);
    if (machineBefore && machineAfter) {
      const busy = (['user', 'system', 'other'] as const).reduce((sum, k) => sum + machineAfter[k] - machineBefore[k], 0);
      cpuGroups['other'] = Math.max(cpuGroups['other'] ?? 0, busy - namedCpu);
    }

    // Let the send jobs finish (they record `sent`, then enqueue the summary) before counting jobs.
    const settleDeadline = Date.now() + SETTLE_TIMEOUT_MS;
    let counts = await queueCounts(redis, prefix, QUEUE_NAMES);
    while (!timedOut && (unfinished(counts['default']) > 0 || unfinished(counts['high']) > 0) && Date.now() < settleDeadline) {
      await sleep(100);
      counts = await queueCounts(redis, prefix, QUEUE_NAMES);
    }
    if (unfinished(counts['default']) > 0 || unfinished(counts['high']) > 0) {
      failures.push(`queues not drained: default ${JSON.stringify(counts['default'])}, high ${JSON.stringify(counts['high'])}`);
    }
    const rss = children.map((c) => ({ name: c.name, rssMb: c.child.pid ? readProcStatusMb(c.child.pid, 'VmRSS') : null, peakRssMb: c.child.pid ? readProcStatusMb(c.child.pid, 'VmHWM') : null }));

    // Verify and measure.
    const posts = load.posts;
    const requests = load.requests;
    const accepted = posts.filter((p) => p.accepted);
    const rejected = posts.filter((p) => !p.accepted);
    const acceptedRequests = requests.filter((q) => q.accepted);
    if (rejected.length > 0) {
      failures.push(
        `${rejected.length} messages in ${requests.length - acceptedRequests.length} webhook posts not accepted (2xx with enqueued = the messages of the post), ` +
          `e.g. ${rejected[0]?.error ?? '?'}`,
      );
    }
    if (posts.length !== settings.messages) failures.push(`only ${posts.length} of ${settings.messages} messages were posted`);
    if (timedOut) {
      failures.push(
        `timed out after ${settings.timeoutSeconds} s: ${accepted.length} accepted, ${progress.inbound} stored, ${progress.answered} answered, ${progress.dropped} skipped/failed, ` +
          `${progress.outbox} replies (${progress.outboxSent} sent, ${progress.outboxFailed} failed), ${gateway.sends.length} gateway sends`,
      );
    }

    // Statistics reach pg_stat_database when a backend reports them (at most every 500 ms or so).
    await sleep(1000);
    const dbStatsAfter = await readDbStats(db);
    const dbStats = {
      xactCommit: dbStatsAfter.xactCommit - dbStatsBefore.xactCommit,
      xactRollback: dbStatsAfter.xactRollback - dbStatsBefore.xactRollback,
      tupInserted: dbStatsAfter.tupInserted - dbStatsBefore.tupInserted,
      tupUpdated: dbStatsAfter.tupUpdated - dbStatsBefore.tupUpdated,
      tupReturned: dbStatsAfter.tupReturned - dbStatsBefore.tupReturned,
      tupFetched: dbStatsAfter.tupFetched - dbStatsBefore.tupFetched,
    };
    const inbound = await readInbound(db);
    const outbox = await readOutbox(db);
    const postsByKey = new Map(accepted.map((p) => [`${p.remoteJid}|${p.waMessageId}`, p]));
    // The gateway's record: idempotency key → its sends (first one = when the reply reached the gateway).
    const sendsByKey = new Map<string, typeof gateway.sends>();
    for (const send of gateway.sends) {
      const list = sendsByKey.get(send.idempotencyKey);
      if (list) list.push(send);
      else sendsByKey.set(send.idempotencyKey, [send]);
    }
    const duplicateKeys = [...sendsByKey.values()].filter((list) => list.length > 1).length;
    const keyOf = (outboxId: string): string => outboxIdempotencyKey(TENANT_ID, outboxId);
    const outboxKeys = new Set(outbox.map((o) => keyOf(o.id)));
    const strangerKeys = [...sendsByKey.keys()].filter((k) => !outboxKeys.has(k));
    const unsentRows = outbox.filter((o) => !sendsByKey.has(keyOf(o.id)) || o.state !== 'sent');
    const non2xxSends = gateway.sends.filter((s) => s.status < 200 || s.status >= 300).length;

    const endToEnd: number[] = [];
    const toStored: number[] = [];
    const storedToCommitted: number[] = [];
    const committedToSent: number[] = [];
    const messagesPerReply = new Map<string, number>();
    let notAnswered = 0;
    let wrongRecipient = 0;
    let unknownRows = 0;
    let lastSendAt = 0;
    for (const row of inbound) {
      const posted = postsByKey.get(`${row.remote_jid}|${row.wa_message_id}`);
      if (!posted) {
        unknownRows += 1;
        continue;
      }
      const sends = row.outbox_id ? sendsByKey.get(keyOf(row.outbox_id)) : undefined;
      const first = sends?.[0];
      if (row.reply_state !== 'answered' || !row.outbox_id || !first) {
        notAnswered += 1;
        continue;
      }
      if (row.outbox_to !== row.remote_jid || first.body.to !== row.remote_jid) wrongRecipient += 1;
      messagesPerReply.set(row.outbox_id, (messagesPerReply.get(row.outbox_id) ?? 0) + 1);
      lastSendAt = Math.max(lastSendAt, first.receivedAt);
      endToEnd.push(first.receivedAt - posted.postedAt);
      toStored.push(row.stored_at - posted.postedAt);
      if (row.committed_at !== null) {
        storedToCommitted.push(row.committed_at - row.stored_at);
        committedToSent.push(first.receivedAt - row.committed_at);
      }
    }
    const answered = endToEnd.length;
    const missing = accepted.length - (inbound.length - unknownRows);
    if (missing > 0) failures.push(`${missing} accepted messages were never stored`);
    if (unknownRows > 0) failures.push(`${unknownRows} inbound rows match no posted message`);
    if (notAnswered > 0 && !timedOut) failures.push(`${notAnswered} stored messages not answered (or their reply never reached the gateway)`);
    if (wrongRecipient > 0) failures.push(`${wrongRecipient} messages answered to another chat`);
    if (duplicateKeys > 0) failures.push(`${duplicateKeys} idempotency keys were sent more than once`);
    if (strangerKeys.length > 0) failures.push(`${strangerKeys.length} gateway sends carry a key of no outbox row, e.g. ${strangerKeys[0] ?? ''}`);
    if (unsentRows.length > 0) failures.push(`${unsentRows.length} outbox rows not sent exactly once (e.g. row ${unsentRows[0]?.id ?? ''}, state ${unsentRows[0]?.state ?? ''})`);
    if (sendsByKey.size !== outbox.length || gateway.sends.length !== outbox.length) {
      failures.push(`outbox rows ${outbox.length}, distinct idempotency keys ${sendsByKey.size}, sends recorded ${gateway.sends.length}: must be equal`);
    }
    const orphanRows = outbox.filter((o) => !messagesPerReply.has(o.id)).length;
    if (orphanRows > 0 && !timedOut) failures.push(`${orphanRows} outbox rows answer none of the posted messages`);
    if (non2xxSends > 0) failures.push(`${non2xxSends} gateway sends were not answered 2xx`);
    if (gateway.unexpected.length > 0) failures.push(`fake gateway: ${gateway.unexpected.length} unexpected requests, e.g. ${gateway.unexpected[0] ?? ''}`);
    if (openai.unexpected.length > 0) failures.push(`fake OpenAI: ${openai.unexpected.length} unexpected requests, e.g. ${openai.unexpected[0] ?? ''}`);
    const failedJobs = Object.values(counts).reduce((sum, c) => sum + (c['failed'] ?? 0), 0);
    if (failedJobs > 0) failures.push(`${failedJobs} failed jobs: ${JSON.stringify(Object.fromEntries(Object.entries(counts).map(([q, c]) => [q, c['failed'] ?? 0])))}`);

    const firstPostAt = load.startedAt;
    const wallSeconds = Math.max(0.001, ((lastSendAt || doneAt) - firstPostAt) / 1000);
    const postSeconds = Math.max(0.001, (load.endedAt - load.startedAt) / 1000);
    const sendCount = sendsByKey.size;
    const burst = [...messagesPerReply.values()];
    const e2e = distribution(endToEnd);
    const ack = distribution(acceptedRequests.map((q) => q.ackMs));
    const stageStored = distribution(toStored);
    const stageCommitted = distribution(storedToCommitted);
    const stageSent = distribution(committedToSent);
    const cpuWindow = Math.max(0.001, (doneAt - firstPostAt) / 1000);
    const cpuRow = (group: string): string => {
      const seconds = cpuGroups[group] ?? 0;
      return `${round(seconds, 1)} s (${Math.round((seconds / cpuWindow) * 100)}% of a core)`;
    };
    const perMessage = (group: string): number => round(((cpuGroups[group] ?? 0) * 1000) / Math.max(1, answered), 2);
    const switchboardGroups = ['api', 'worker', 'postgres', 'redis'];
    const pipelineMsPerMessage = switchboardGroups.reduce((sum, g) => sum + ((cpuGroups[g] ?? 0) * 1000) / Math.max(1, answered), 0);
    const loadAfter = loadavg();
    const loadPeak = Math.max(...loadSamples, loadAfterRun[0] ?? 0);
    const jobLog = await digestWorkerLogs(workers.map((_, i) => workerLog(i + 1)));
    const jobRow = (name: string): string => {
      const digest = jobLog.jobs[name];
      return digest ? `${digest.count} / ${digest.durationMs.p50} / ${digest.durationMs.p99}` : 'none';
    };

    const table: Record<string, string | number> = {
      'messages per webhook': settings.batchSize,
      'messages/s (answered ÷ first post → last send)': round(answered / wallSeconds, 0),
      'sends/s': round(sendCount / wallSeconds, 0),
      'webhook→send latency p50 / p90 / p99 / max (ms)': pctRow(e2e),
      'messages posted / accepted / answered': `${posts.length} / ${accepted.length} / ${answered}`,
      'webhook requests posted / accepted': `${requests.length} / ${acceptedRequests.length}`,
      'sends (replies) / messages per reply (mean / max)': `${sendCount} / ${round(answered / Math.max(1, sendCount), 2)} / ${Math.max(0, ...burst)}`,
      'AI calls': openai.requests.length,
      'first post → last send (s)': round(wallSeconds, 2),
      'posting took (s) / webhook requests/s / messages/s': `${round(postSeconds, 2)} / ${round(requests.length / postSeconds, 0)} / ${round(posts.length / postSeconds, 0)}`,
      'webhook answer p50 / p99 (ms)': `${ack.p50} / ${ack.p99}`,
      'stage p50 / p99 (ms): post → stored': `${stageStored.p50} / ${stageStored.p99}`,
      'stage p50 / p99 (ms): stored → reply committed': `${stageCommitted.p50} / ${stageCommitted.p99}`,
      'stage p50 / p99 (ms): committed → at gateway': `${stageSent.p50} / ${stageSent.p99}`,
      'outbox rows / distinct keys / sends recorded': `${outbox.length} / ${sendsByKey.size} / ${gateway.sends.length}`,
      'duplicate keys / failed jobs': `${duplicateKeys} / ${failedJobs}`,
      'every message answered exactly once': notAnswered === 0 && missing <= 0 && unknownRows === 0 && wrongRecipient === 0 ? 'yes' : 'no',
      'PostgreSQL transactions per message (commits / answered)': round(dbStats.xactCommit / Math.max(1, answered), 1),
      'jobs webhook_process: count / p50 / p99 ms in worker': jobRow('webhook_process'),
      'jobs reply_generate: count / p50 / p99 ms in worker': jobRow('reply_generate'),
      'jobs send_message: count / p50 / p99 ms in worker': jobRow('send_message'),
      [`worker log lines per message (${settings.logLevel})`]: round(jobLog.lines / Math.max(1, answered), 1),
      'CPU api': cpuRow('api'),
      'CPU worker(s)': cpuRow('worker'),
      'CPU postgres': cpuRow('postgres'),
      'CPU redis': cpuRow('redis'),
      'CPU bench (load + fakes)': cpuRow('bench (load + fakes)'),
      'CPU other processes (rest of the machine)': cpuRow('other'),
      'CPU ms per message: api / worker / postgres / redis': switchboardGroups.map(perMessage).join(' / '),
      'msg/s ceiling if both cores were the pipeline\'s (CPU-bound estimate)': round((cpus().length * 1000) / Math.max(0.001, pipelineMsPerMessage), 0),
      'machine CPU % user / system / iowait / idle / steal': machineShares
        ? `${machineShares.user} / ${machineShares.system} / ${machineShares.iowait} / ${machineShares.idle} / ${machineShares.steal}`
        : 'n/a',
      'load avg 1m (before / peak / after)': `${loadBefore[0]?.toFixed(2) ?? '?'} / ${loadPeak.toFixed(2)} / ${loadAfter[0]?.toFixed(2) ?? '?'}`,
      settings:
        `${settings.batchSize} message(s) per webhook, debounce ${settings.debounceMs} ms, AI ${settings.aiLatencyMs} ms, ${settings.workers}× worker ${settings.workerConcurrency}, ` +
        `pool ${settings.poolSize ?? 'default'}${settings.pgSocketDir ? ', PostgreSQL via Unix socket' : ''}`,
    };
    say('');
    console.table(table);
    say(
      `REPLY_DEBOUNCE_MS=${settings.debounceMs}: ${settings.debounceMs === 0 ? 'latency = the pipeline only; ' : ''}messages of one chat still pending when its reply job runs share one reply, so sends ≤ messages.`,
    );

    let profiles: Array<{ file: string; summary: ProfileSummary }> = [];
    // Profiles are written when the processes exit: stop them first.
    if (settings.cpuProfile) {
      await Promise.all(children.map((c) => stopSwitchboard(c)));
      profiles = printProfiles(profileDir, say);
    }

    const git = gitState();
    const summary = {
      timestamp: new Date().toISOString(),
      commit: git.commit,
      workingTreeDirty: git.workingTreeDirty,
      node: process.version,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? null,
      loadavg: { before: loadBefore, peakDuringRun: loadPeak, afterRun: loadAfterRun, after: loadAfter, samples1m: loadSamples },
      settings: {
        ...settings,
        aiModel: AI_MODEL,
        poolSize: settings.poolSize ?? 'Switchboard default (DATABASE_POOL_SIZE)',
        messageOrder: 'message i belongs to chat i mod chats (each chat spread over the whole load)',
        batching: 'webhook request r carries messages r × batchSize … (r + 1) × batchSize − 1 (consecutive, of several chats)',
      },
      summary: table,
      throughput: {
        messagesPerSecond: round(answered / wallSeconds, 1),
        sendsPerSecond: round(sendCount / wallSeconds, 1),
        firstPostToLastSendSeconds: round(wallSeconds, 3),
        postingSeconds: round(postSeconds, 3),
        webhookRequestsPerSecond: round(requests.length / postSeconds, 1),
        webhookAcceptsPerSecond: round(posts.length / postSeconds, 1),
      },
      latencyMs: { webhookToSend: e2e, webhookAnswer: ack, postToStored: stageStored, storedToCommitted: stageCommitted, committedToGateway: stageSent },
      counts: {
        posted: posts.length,
        accepted: accepted.length,
        webhookRequests: requests.length,
        webhookRequestsAccepted: acceptedRequests.length,
        stored: inbound.length,
        answered,
        notAnswered,
        replies: outbox.length,
        distinctKeys: sendsByKey.size,
        sendsRecorded: gateway.sends.length,
        duplicateKeys,
        aiCalls: openai.requests.length,
        messagesPerReply: { mean: round(answered / Math.max(1, sendCount), 3), max: Math.max(0, ...burst) },
        progressAtEnd: progress,
      },
      queues: { prefix, counts },
      postgres: { ...dbStats, note: 'pg_stat_database of the bench database over the run, including the bench\'s own progress queries' },
      cpuSeconds: {
        windowSeconds: round(cpuWindow, 3),
        machineShares,
        byGroup: Object.fromEntries(Object.entries(cpuGroups).map(([k, v]) => [k, round(v, 2)])),
        msPerAnsweredMessage: Object.fromEntries(Object.keys(cpuGroups).map((g) => [g, perMessage(g)])),
        pipelineMsPerMessage: round(pipelineMsPerMessage, 2),
      },
      processes: rss,
      workerLog: jobLog,
      profiles: profiles.map((p) => ({ file: p.file, ...p.summary })),
      ok: failures.length === 0,
      failures,
    };
    const file = join(RESULTS_DIR, `e2e-${stamp}.json`);
    writeFileSync(file, `${JSON.stringify(summary, null, 2)}\n`);
    say(`Summary written to ${file}`);
    for (const failure of failures) say(`FAIL ${failure}`);
    return failures.length === 0 ? 0 : 1;
  } finally {
    // Clean up, each step on its own so one failure does not skip the others. Workers stop before the
    // fakes close, so an in-flight job never sees its AI server or gateway vanish.
    clearInterval(loadSampler);
    await Promise.all(children.map((c) => stopSwitchboard(c).catch((error: unknown) => say(`Cleanup: stopping ${c.name} failed: ${errorText(error)}`))));
    await db?.end().catch(() => undefined);
    redis?.disconnect();
    await openai?.close().catch((error: unknown) => say(`Cleanup: closing the fake OpenAI failed: ${errorText(error)}`));
    await gateway?.close().catch((error: unknown) => say(`Cleanup: closing the fake gateway failed: ${errorText(error)}`));
    await deletePrefix(redisUrl, prefix).catch((error: unknown) => say(`Cleanup: deleting Redis keys under ${prefix} failed: ${errorText(error)}`));
    if (dbCreated) await dropBenchDatabase(dbName).catch((error: unknown) => say(`Cleanup: dropping ${dbName} failed: ${errorText(error)}`));
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof InterruptedError) process.stderr.write('bench:e2e interrupted; cleaned up\n');
    else process.stderr.write(`bench:e2e failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
