/**
 * The only module that reads the environment. `loadConfig(env)` validates every variable at once and
 * returns a typed `Config`, or throws `ConfigError` listing every problem, so an operator fixes them
 * all in one go. It is a pure function of `env`, which lets tests build configs without touching
 * `process.env`.
 */
import { isIP } from 'node:net';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { isValidCron } from './lib/cron.js';
import { QUEUE_NAMES, type QueueName } from './queue/queue-names.js';

export const ROLES = ['api', 'worker', 'scheduler', 'all'] as const;
export type Role = (typeof ROLES)[number];

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const Str = (description: string) => Type.Optional(Type.String({ minLength: 1, description }));
const Int = (min: number, def: number, description: string) =>
  Type.Integer({ minimum: min, default: def, description });

/** Each variable, its type, default and one line of documentation (also rendered in the README). */
const EnvSchema = Type.Object({
  SERVICE_ROLE: Type.Union(
    ROLES.map((r) => Type.Literal(r)),
    { default: 'all', description: 'Which part this process plays: api, worker, scheduler or all' },
  ),
  PORT: Int(0, 3000, 'HTTP port (API; health and metrics for worker and scheduler)'),
  HOST: Type.String({ default: '0.0.0.0', description: 'HTTP listen address' }),
  REDIS_URL: Str('Redis for the job queues (default redis://127.0.0.1:6379; role all starts a private one if none answers)'),
  QUEUE_PREFIX: Type.Optional(
    Type.String({
      pattern: '^\\{[A-Za-z0-9_-]+\\}$',
      description:
        'BullMQ key prefix, default {switchboard} ({switchboard-<installation>} with the embedded database); the braces are a Redis Cluster hash tag keeping all queues in one slot',
    }),
  ),
  DATABASE_URL: Str('PostgreSQL URL; when unset (role all only) an embedded PGlite database under DATA_DIR'),
  DATABASE_POOL_SIZE: Int(1, 10, 'PostgreSQL connections per process'),
  DATA_DIR: Type.String({ default: './data', description: 'Where the embedded defaults keep their files' }),
  INTERNAL_SECRET: Str("The gateway's shared secret (X-Internal-Secret); generated under DATA_DIR for role all"),
  GATEWAY_URL: Str('Base URL of the WhatsApp gateway (POST {GATEWAY_URL}/send)'),
  GATEWAY_SECRET: Str('Secret sent to the gateway; defaults to INTERNAL_SECRET'),
  OPENAI_BASE_URL: Str('OpenAI-compatible API base URL'),
  OPENAI_API_KEY: Str('API key; without it the offline template provider answers'),
  AI_MODEL: Type.String({ default: 'gpt-4o-mini', description: 'Chat model name' }),
  AI_TIMEOUT_MS: Int(100, 30_000, 'Longest one AI call may take before it is retried'),
  AI_HISTORY_MESSAGES: Int(1, 20, 'How many recent messages the AI sees besides the summary'),
  GATEWAY_TIMEOUT_MS: Int(100, 10_000, 'Longest one gateway send may take before it is retried'),
  REPLY_DEBOUNCE_MS: Int(0, 3000, 'Messages of one chat arriving within this of each other get one reply'),
  REPLY_MAX_AGE_MINUTES: Int(1, 60, 'Older inbound messages (offline replays, history) are stored but not answered'),
  HUMAN_TAKEOVER_MINUTES: Int(0, 30, 'A person writing from the business phone pauses the AI in that chat this long'),
  SUMMARY_IDLE_MS: Int(0, 5 * 60_000, 'A chat quiet this long gets its summary refreshed'),
  ADMIN_TOKEN: Str('Bearer token for /api and /admin; generated under DATA_DIR for role all'),
  ADMIN_SESSION_HOURS: Int(1, 12, 'How long an operator console sign-in lasts before the token is asked for again'),
  TRUST_PROXY: Str(
    'Behind a reverse proxy: "true" (trust every hop), a hop count, or a comma list of proxy addresses/CIDRs; then X-Forwarded-For/-Proto give the client address and https',
  ),
  WORKER_QUEUES: Type.String({ default: QUEUE_NAMES.join(','), description: 'Comma list of queues this worker consumes' }),
  WORKER_CONCURRENCY: Type.String({
    default: '8',
    pattern: '^(\\d+|[a-z_]+=\\d+)(,([a-z_]+=\\d+|\\d+))*$',
    description: 'Jobs in flight per queue: a number, or "default=16,receipts=4" (a bare number is the fallback)',
  }),
  WORKER_LOCK_MS: Int(1000, 30_000, 'Job lock duration; a worker that stops renewing it loses the job'),
  WORKER_STALLED_INTERVAL_MS: Int(1000, 30_000, 'How often stalled jobs (lost locks) are detected and re-run'),
  JOB_ATTEMPTS: Int(1, 10, 'Attempts per job before it fails for good (with the default backoff, about 8 minutes of retries)'),
  JOB_BACKOFF_MS: Int(10, 1000, 'First retry delay; doubles each attempt, with jitter'),
  SHUTDOWN_GRACE_MS: Int(0, 25_000, 'How long SIGTERM waits for in-flight jobs and requests'),
  DEDUPE_WINDOW_SECONDS: Int(1, 7 * 24 * 3600, 'A redelivered event within this age is a duplicate'),
  ENQUEUE_TIMEOUT_MS: Type.Integer({
    minimum: 50,
    // The contract is a 503 within 1 s; leave room for the rest of the request.
    maximum: 900,
    default: 500,
    description: 'Longest the webhook waits for Redis before answering 503 (at most 900)',
  }),
  TENANT_CACHE_TTL_MS: Int(100, 5000, 'How long the API trusts its in-memory tenant list'),
  WEBHOOK_BODY_LIMIT: Int(1024, 5 * 1024 * 1024, 'Largest webhook body in bytes (413 above)'),
  SCHEDULER_TZ: Type.String({ default: 'UTC', description: 'Time zone of the schedules (IANA name)' }),
  SCHEDULE_REMINDERS_TICK: Str('Cron pattern of reminders_tick (default every minute: 0 * * * * *)'),
  SCHEDULE_SESSIONS_SWEEP: Str('Cron pattern of sessions_sweep (default every 5 minutes: 0 */5 * * * *)'),
  SCHEDULE_RECEIPTS_RECONCILE: Str('Cron pattern of receipts_reconcile (default every 5 minutes: 30 */5 * * * *)'),
  SCHEDULE_RETENTION_CLEANUP: Str('Cron pattern of retention_cleanup (default daily at 03:00: 0 0 3 * * *)'),
  RETENTION_DAYS: Int(1, 90, 'Messages, sent or failed outbox rows and finished job records older than this are deleted nightly'),
  REMINDER_MAX_LATENESS_MINUTES: Int(1, 60, 'A reminder due longer ago than this (everything was down) is marked missed, not sent'),
  BROADCAST_RATE_PER_MINUTE: Int(1, 20, "Broadcast sends per minute per tenant, across all workers (a tenant's broadcastRatePerMinute overrides it)"),
  LOG_LEVEL: Type.Union(
    LOG_LEVELS.map((l) => Type.Literal(l)),
    { default: 'info', description: 'pino log level' },
  ),
});

type Env = Static<typeof EnvSchema>;

export const DEFAULT_QUEUE_PREFIX = '{switchboard}';

export interface Config extends Omit<Env, 'WORKER_QUEUES' | 'WORKER_CONCURRENCY' | 'QUEUE_PREFIX' | 'TRUST_PROXY'> {
  /** Fastify's `trustProxy`: false (the default), true, a hop count, or proxy addresses and CIDRs. */
  TRUST_PROXY: boolean | number | string[];
  QUEUE_PREFIX: string;
  /** True when QUEUE_PREFIX was not given (role `all` then ties the queues to its embedded database). */
  isQueuePrefixDefault: boolean;
  WORKER_QUEUES: QueueName[];
  /** Concurrency for each queue this worker consumes. */
  WORKER_CONCURRENCY: Record<QueueName, number>;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Documentation of every variable, for `--help` and the README. */
export function describeConfig(): Array<{ name: string; default: unknown; description: string }> {
  return Object.entries(EnvSchema.properties).map(([name, schema]) => ({
    name,
    default: (schema as { default?: unknown }).default,
    description: String((schema as { description?: string }).description ?? ''),
  }));
}

export function loadConfig(env: Record<string, string | undefined>): Config {
  const known: Record<string, string> = {};
  for (const name of Object.keys(EnvSchema.properties)) {
    const value = env[name];
    if (value !== undefined && value !== '') known[name] = value;
  }
  const candidate = Value.Default(EnvSchema, Value.Convert(EnvSchema, known));
  const problems = [...Value.Errors(EnvSchema, candidate)].map(
    (e) => `${e.path.slice(1) || 'environment'}: ${e.message}${e.value === undefined ? '' : ` (got ${JSON.stringify(e.value)})`}`,
  );
  if (problems.length > 0) throw new ConfigError(problems);
  const parsed = candidate as Env;

  checkSchedules(parsed, problems);
  const queues = parseQueueList(parsed.WORKER_QUEUES, problems);
  const concurrency = parseConcurrency(parsed.WORKER_CONCURRENCY, problems);
  const trustProxy = parseTrustProxy(parsed.TRUST_PROXY, problems);
  if (problems.length > 0) throw new ConfigError(problems);

  return {
    ...parsed,
    QUEUE_PREFIX: parsed.QUEUE_PREFIX ?? DEFAULT_QUEUE_PREFIX,
    isQueuePrefixDefault: parsed.QUEUE_PREFIX === undefined,
    GATEWAY_SECRET: parsed.GATEWAY_SECRET ?? parsed.INTERNAL_SECRET,
    WORKER_QUEUES: queues,
    WORKER_CONCURRENCY: concurrency,
    TRUST_PROXY: trustProxy,
  };
}

/** The process's own environment: the one place that reads `process.env`. */
export function loadConfigFromProcess(): Config {
  return loadConfig(process.env);
}

/** What the non-`all` roles must be given explicitly: they never invent secrets or databases. */
export function requireDeployedSettings(config: Config): void {
  if (config.SERVICE_ROLE === 'all') return;
  const missing = (['DATABASE_URL', 'REDIS_URL', 'INTERNAL_SECRET', 'ADMIN_TOKEN'] as const).filter(
    (name) => config[name] === undefined,
  );
  if (missing.length > 0) {
    throw new ConfigError(
      missing.map((name) => `${name}: required when SERVICE_ROLE=${config.SERVICE_ROLE} (only role "all" has embedded defaults)`),
    );
  }
}

function checkSchedules(env: Env, problems: string[]): void {
  try {
    new Intl.DateTimeFormat('en', { timeZone: env.SCHEDULER_TZ });
  } catch {
    problems.push(`SCHEDULER_TZ: "${env.SCHEDULER_TZ}" is not an IANA time zone`);
    return;
  }
  const overrides = ['SCHEDULE_REMINDERS_TICK', 'SCHEDULE_SESSIONS_SWEEP', 'SCHEDULE_RECEIPTS_RECONCILE', 'SCHEDULE_RETENTION_CLEANUP'] as const;
  for (const name of overrides) {
    const pattern = env[name];
    const problem = pattern === undefined ? undefined : isValidCron(pattern, env.SCHEDULER_TZ);
    if (problem) problems.push(`${name}: "${pattern}" is not a cron pattern (${problem})`);
  }
}

/** proxy-addr's named ranges, accepted in TRUST_PROXY's list like addresses. */
const PROXY_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

function parseTrustProxy(raw: string | undefined, problems: string[]): boolean | number | string[] {
  if (raw === undefined || raw === 'false') return false;
  if (raw === 'true') return true;
  if (/^\d+$/.test(raw)) return Number(raw);
  const entries = raw.split(',').map((s) => s.trim()).filter(Boolean);
  const invalid = entries.filter((entry) => {
    if (PROXY_RANGES.has(entry)) return false;
    const [address = '', prefix] = entry.split('/');
    const family = isIP(address);
    if (family === 0) return true;
    return prefix !== undefined && !(/^\d+$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128));
  });
  if (invalid.length > 0 || entries.length === 0) {
    problems.push(`TRUST_PROXY: "${raw}" is not true, false, a hop count, or a comma list of addresses/CIDRs (${invalid.join(', ') || 'empty'})`);
  }
  return entries;
}

function isQueueName(name: string): name is QueueName {
  return (QUEUE_NAMES as readonly string[]).includes(name);
}

function parseQueueList(raw: string, problems: string[]): QueueName[] {
  const names = raw.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((n) => !isQueueName(n));
  if (unknown.length > 0) problems.push(`WORKER_QUEUES: unknown queue(s) ${unknown.join(', ')}; known: ${QUEUE_NAMES.join(', ')}`);
  if (names.length === 0) problems.push('WORKER_QUEUES: lists no queue');
  return names.filter(isQueueName);
}

function parseConcurrency(raw: string, problems: string[]): Record<QueueName, number> {
  let fallback = 8;
  const perQueue: Partial<Record<QueueName, number>> = {};
  for (const part of raw.split(',')) {
    const [left, right] = part.split('=');
    if (right === undefined) {
      fallback = Number(left);
      continue;
    }
    if (left !== undefined && isQueueName(left)) perQueue[left] = Number(right);
    else problems.push(`WORKER_CONCURRENCY: unknown queue "${left ?? ''}"`);
  }
  const result = {} as Record<QueueName, number>;
  for (const name of QUEUE_NAMES) {
    const n = perQueue[name] ?? fallback;
    if (!(n >= 1)) problems.push(`WORKER_CONCURRENCY: ${name} must be at least 1`);
    result[name] = n;
  }
  return result;
}
