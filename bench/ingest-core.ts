/**
 * The pieces of the ingest benchmark that `bench:ingest` and `bench:ingest:baseline` share, so both
 * put exactly the same load on their targets and check the answers the same way: the request body
 * (BENCH_BATCH messages per webhook), one autocannon phase with its exact drain, the job count by message-id prefix, BullMQ's own counts,
 * the per-phase checks, and starting the Switchboard API role. Nothing here runs on import.
 */
import autocannon from 'autocannon';
import type { Client as CannonClient, Instance as CannonInstance, Result as CannonResult } from 'autocannon';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { freePort } from '../test/support/private-redis.js';
import { WEBHOOK_PATH, globEscape, intEnv, parseOkBody, randomHex, round, scanKeys, startSwitchboard, type SwitchboardChild } from './support.js';

export const TENANT_ID = process.env['BENCH_TENANT'] ?? 'bench';
export const QUEUE = 'default';
/** How long before the end of a phase the connections stop sending (see `runPhase`). */
const DRAIN_LEAD_MS = 200;
/** The most messages one webhook may carry (the envelope schema's `maxItems`, src/whatsapp/webhook-envelope.ts). */
export const MAX_BATCH = 1000;

/**
 * BENCH_BATCH: messages per webhook request, 1 (the default) to MAX_BATCH. `bench:ingest` and
 * `bench:e2e` read it; `bench:ingest:baseline` always posts one message per request.
 */
export function batchSizeEnv(): number {
  const value = intEnv('BENCH_BATCH', 1, 1);
  if (value > MAX_BATCH) throw new Error(`BENCH_BATCH must be an integer from 1 to ${MAX_BATCH} (got "${process.env['BENCH_BATCH'] ?? ''}")`);
  return value;
}

// ---------------------------------------------------------------------------------------------------
// Interruption: the entry script registers `stopActiveLoad` with `onInterrupt`.

let activeCannon: CannonInstance | undefined;

/** Stops the autocannon run in progress, if any (its phase then ends with what it has). */
export function stopActiveLoad(): void {
  activeCannon?.stop();
}

// ---------------------------------------------------------------------------------------------------
// Load

/**
 * A realistic Baileys `messages.upsert` (each message shaped like the shared upsert-text fixture)
 * carrying `count` messages, numbered `first`, `first + 1`…: message n has the id `idPrefix` + n as
 * fixed-width upper-case hex (so every id of a phase starts with its prefix) and one of 5,000 chats.
 */
export function upsertBody(idPrefix: string, first: number, count = 1): string {
  const idWidth = 20 - idPrefix.length;
  const timestamp = Math.floor(Date.now() / 1000);
  const messages: unknown[] = [];
  for (let n = first; n < first + count; n += 1) {
    messages.push({
      key: { remoteJid: `9725${String(1_000_000 + (n % 5000))}@s.whatsapp.net`, fromMe: false, id: `${idPrefix}${n.toString(16).toUpperCase().padStart(idWidth, '0')}` },
      messageTimestamp: timestamp,
      pushName: 'Dana',
      message: {
        conversation: 'Hi, is the appointment tomorrow still on?',
        messageContextInfo: { deviceListMetadataVersion: 2 },
      },
    });
  }
  return JSON.stringify({ tenantId: TENANT_ID, event: 'messages.upsert', payload: { type: 'notify', messages } });
}

/**
 * What a 2xx body must be: Switchboard's `{status:'ok', enqueued, duplicates, ignored}` (with
 * `enqueued` = the phase's messages per request, every id being new), or just `{status:'ok'}` (the comparison
 * servers of `bench:ingest:baseline`, which do not report what they enqueued).
 */
export type AnswerKind = 'switchboard' | 'status-ok';

function isStatusOk(body: string): boolean {
  try {
    const value: unknown = JSON.parse(body);
    return typeof value === 'object' && value !== null && (value as Record<string, unknown>)['status'] === 'ok';
  } catch {
    return false;
  }
}

/**
 * autocannon's own `duration` destroys its sockets with requests still in flight: the API may have
 * enqueued those jobs but their 2xx is never counted, so jobs would exceed 2xx by up to one per
 * connection. Instead each connection is told to stop after the request it has in flight (the client's
 * request limit, which is what `amount` uses); autocannon ends when the last answer arrives.
 */
interface DrainableClient {
  reqsMade: number;
  responseMax?: number;
}

function isDrainable(client: CannonClient): client is CannonClient & DrainableClient {
  return typeof (client as Partial<DrainableClient>).reqsMade === 'number';
}

export interface PhaseStats {
  name: string;
  /** Every message id of this phase starts with it; jobs are counted by it. */
  idPrefix: string;
  answerKind: AnswerKind;
  /** Messages in each request's `messages.upsert` (every one with its own id). */
  batchSize: number;
  result: CannonResult;
  elapsedSeconds: number;
  responses: number;
  /** Requests written but never answered (0 when the drain worked). */
  unanswered: number;
  /** 2xx answers whose body had the expected shape. */
  okBodies: number;
  enqueued: number;
  duplicates: number;
  ignored: number;
  /** Switchboard 2xx bodies whose `enqueued` was not `batchSize` (or that reported duplicates / ignored). */
  wrongCounts: number;
  unexpectedBodies: number;
  /** False when the connections could not be told to finish their last request (old autocannon). */
  drained: boolean;
}

export async function runPhase(options: {
  name: string;
  idPrefix: string;
  baseUrl: string;
  secret: string;
  connections: number;
  durationSeconds: number;
  answerKind?: AnswerKind;
  /** Messages per request (default 1); the id counter counts messages. */
  batchSize?: number;
}): Promise<PhaseStats> {
  const { name, idPrefix, baseUrl, secret, connections, durationSeconds } = options;
  const answerKind = options.answerKind ?? 'switchboard';
  const batchSize = options.batchSize ?? 1;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH) throw new Error(`batchSize must be an integer from 1 to ${MAX_BATCH}`);
  /** Messages numbered so far: the next request's first message. */
  let sequence = 0;
  let responses = 0;
  let okBodies = 0;
  let enqueued = 0;
  let duplicates = 0;
  let ignored = 0;
  let wrongCounts = 0;
  let unexpectedBodies = 0;
  const clients: CannonClient[] = [];
  const started = performance.now();
  let lastAnswer = started;

  let instance: CannonInstance | undefined;
  let drained = true;
  const finished = new Promise<CannonResult>((resolve, reject) => {
    instance = autocannon(
      {
        url: `${baseUrl}${WEBHOOK_PATH}`,
        connections,
        pipelining: 1,
        // Only a safety cap: the phase is ended by the drain below, well before this.
        duration: durationSeconds + 60,
        timeout: 10,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-internal-secret': secret },
        setupClient: (client) => {
          clients.push(client);
        },
        requests: [
          {
            setupRequest: (request) => {
              const first = sequence;
              sequence += batchSize;
              return { ...request, body: upsertBody(idPrefix, first, batchSize) };
            },
            onResponse: (status, body) => {
              responses += 1;
              lastAnswer = performance.now();
              if (status < 200 || status >= 300) return;
              if (answerKind === 'status-ok') {
                if (isStatusOk(body)) okBodies += 1;
                else unexpectedBodies += 1;
                return;
              }
              const ok = parseOkBody(body);
              if (!ok) {
                unexpectedBodies += 1;
                return;
              }
              okBodies += 1;
              enqueued += ok.enqueued;
              duplicates += ok.duplicates;
              ignored += ok.ignored;
              if (ok.enqueued !== batchSize || ok.duplicates !== 0 || ok.ignored !== 0) wrongCounts += 1;
            },
          },
        ],
      },
      (error: unknown, result: CannonResult) => (error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve(result)),
    );
  });
  activeCannon = instance;
  const drainTimer = setTimeout(
    () => {
      for (const client of clients) {
        if (isDrainable(client)) {
          client.responseMax = Math.max(1, client.reqsMade);
        } else {
          // An autocannon without the per-client limit: stop abruptly; the checks will show the cost.
          drained = false;
          instance?.stop();
          return;
        }
      }
    },
    Math.max(0, durationSeconds * 1000 - DRAIN_LEAD_MS),
  );
  let result: CannonResult;
  try {
    result = await finished;
  } finally {
    clearTimeout(drainTimer);
    activeCannon = undefined;
  }
  const answered = result['1xx'] + result['2xx'] + result['3xx'] + result['4xx'] + result['5xx'];
  return {
    name,
    idPrefix,
    answerKind,
    batchSize,
    result,
    elapsedSeconds: (lastAnswer - started) / 1000,
    responses,
    unanswered: Math.max(0, result.requests.sent - answered - result.errors),
    okBodies,
    enqueued,
    duplicates,
    ignored,
    wrongCounts,
    unexpectedBodies,
    drained,
  };
}

/** Answers in the phase ÷ its wall time (first request to last answer). */
export function phaseReqPerSec(phase: PhaseStats): number {
  return phase.responses / Math.max(phase.elapsedSeconds, 0.001);
}

/** Messages per second: req/s × messages per request. */
export function phaseMessagesPerSec(phase: PhaseStats): number {
  return phaseReqPerSec(phase) * phase.batchSize;
}

/** Messages the phase's 2xx answers accepted (2xx × messages per request): the jobs it must have left. */
export function phaseAcceptedMessages(phase: PhaseStats): number {
  return phase.result['2xx'] * phase.batchSize;
}

// ---------------------------------------------------------------------------------------------------
// Verify

/**
 * The job hashes of a phase: `<prefix>:default:msg|<tenant>|<jid>|<idPrefix>…|in`. Switchboard's
 * message job ids have that shape, and the baseline server builds its ids the same way, so one
 * counter serves both.
 */
export async function countPhaseJobs(redis: Redis, prefix: string, idPrefix: string): Promise<number> {
  const pattern = `${globEscape(prefix)}:${QUEUE}:msg|${globEscape(TENANT_ID)}|*|${globEscape(idPrefix)}*|in`;
  let count = 0;
  await scanKeys(redis, pattern, async (keys) => {
    count += keys.length;
  });
  return count;
}

export async function bullmqCounts(redis: Redis, prefix: string): Promise<Record<string, number>> {
  const queue = new Queue(QUEUE, { connection: redis, prefix });
  try {
    return await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'paused', 'completed', 'failed', 'waiting-children');
  } finally {
    await queue.close();
  }
}

/**
 * Everything wrong with a phase, as `FAIL` lines: anything but 2xx, errors, cut-off requests,
 * unexpected bodies, and (when `jobs` is given) a job count different from 2xx × messages per request.
 */
export function phaseFailures(phase: PhaseStats, jobs: number | undefined, label = phase.name): string[] {
  const failures: string[] = [];
  const r = phase.result;
  const expectedJobs = phaseAcceptedMessages(phase);
  if (jobs !== undefined && jobs !== expectedJobs) {
    failures.push(`${label}: ${jobs} jobs in Redis but ${r['2xx']} 2xx answers${phase.batchSize === 1 ? '' : ` × ${phase.batchSize} messages = ${expectedJobs}`}`);
  }
  if (r.non2xx > 0) failures.push(`${label}: ${r.non2xx} non-2xx answers ${JSON.stringify(r.statusCodeStats ?? {})}`);
  if (r.errors > 0) failures.push(`${label}: ${r.errors} connection errors (${r.timeouts} timeouts)`);
  if (r.mismatches > 0) failures.push(`${label}: ${r.mismatches} body mismatches`);
  if (!phase.drained) failures.push(`${label}: could not drain the connections (autocannon internals changed); in-flight requests were cut off`);
  if (phase.unanswered > 0) failures.push(`${label}: ${phase.unanswered} requests sent but never answered`);
  if (phase.answerKind === 'switchboard') {
    if (phase.unexpectedBodies > 0) failures.push(`${label}: ${phase.unexpectedBodies} 2xx answers without a valid {"status":"ok",…} body`);
    if (phase.wrongCounts > 0) failures.push(`${label}: ${phase.wrongCounts} 2xx answers did not say enqueued=${phase.batchSize} (with no duplicates or ignored)`);
    if (phase.enqueued !== expectedJobs || phase.duplicates !== 0 || phase.ignored !== 0) {
      failures.push(
        `${label}: answers reported enqueued=${phase.enqueued} duplicates=${phase.duplicates} ignored=${phase.ignored} for ${r['2xx']} 2xx` +
          `${phase.batchSize === 1 ? '' : ` × ${phase.batchSize} messages = ${expectedJobs}`}`,
      );
    }
  } else if (phase.unexpectedBodies > 0) {
    failures.push(`${label}: ${phase.unexpectedBodies} 2xx answers without a {"status":"ok"} body`);
  }
  return failures;
}

/** The per-phase record kept in the JSON results. */
export function phaseJson(p: PhaseStats, jobsInRedis: number | null): Record<string, unknown> {
  return {
    name: p.name,
    batchSize: p.batchSize,
    elapsedSeconds: round(p.elapsedSeconds, 3),
    reqPerSec: round(phaseReqPerSec(p), 1),
    messagesPerSec: round(phaseMessagesPerSec(p), 1),
    sent: p.result.requests.sent,
    '2xx': p.result['2xx'],
    messagesAccepted: phaseAcceptedMessages(p),
    non2xx: p.result.non2xx,
    statusCodes: p.result.statusCodeStats ?? {},
    errors: p.result.errors,
    timeouts: p.result.timeouts,
    unanswered: p.unanswered,
    ...(p.answerKind === 'switchboard' ? { enqueued: p.enqueued, duplicates: p.duplicates, ignored: p.ignored, wrongCounts: p.wrongCounts } : { okBodies: p.okBodies }),
    unexpectedBodies: p.unexpectedBodies,
    jobsInRedis,
    latencyMs: {
      mean: p.result.latency.mean,
      stddev: p.result.latency.stddev,
      p50: p.result.latency.p50,
      p90: p.result.latency.p90,
      p97_5: p.result.latency.p97_5,
      p99: p.result.latency.p99,
      p99_9: p.result.latency.p99_9,
      max: p.result.latency.max,
    },
    requestsPerSecondSamples: { mean: p.result.requests.mean, min: p.result.requests.min, max: p.result.requests.max, stddev: p.result.requests.stddev },
  };
}

// ---------------------------------------------------------------------------------------------------
// The Switchboard API role

/**
 * The node flags the API runs with in production (docker-compose.yml's `api` service): a 128 MB old
 * generation, which keeps the stateless API's RSS under 150 MB at full load at no measurable cost.
 */
export const API_NODE_ARGS: readonly string[] = ['--max-old-space-size=128'];

/** Starts `node dist/main.js` as the api role only (no worker: the jobs stay in `wait`), with API_NODE_ARGS. */
export async function startSwitchboardApi(options: {
  name?: string;
  databaseUrl: string;
  redisUrl: string;
  prefix: string;
  secret: string;
  logLevel: string;
  logFile: string;
  /** `node` flags besides API_NODE_ARGS (e.g. `--cpu-prof`). */
  nodeArgs?: string[];
}): Promise<{ api: SwitchboardChild; baseUrl: string }> {
  const port = await freePort();
  const api = startSwitchboard({
    name: options.name ?? 'API',
    logFile: options.logFile,
    nodeArgs: [...API_NODE_ARGS, ...(options.nodeArgs ?? [])],
    env: {
      SERVICE_ROLE: 'api',
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: options.databaseUrl,
      REDIS_URL: options.redisUrl,
      QUEUE_PREFIX: options.prefix,
      INTERNAL_SECRET: options.secret,
      ADMIN_TOKEN: randomHex(24),
      LOG_LEVEL: options.logLevel,
    },
  });
  return { api, baseUrl: `http://127.0.0.1:${port}` };
}
