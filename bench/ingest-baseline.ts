/**
 * Ingest against baselines: Switchboard's api role, the minimal Fastify + BullMQ webhook a team
 * would otherwise write (bench/baseline/server.ts) and a hello-world Fastify route that only parses
 * the body (bench/baseline/hello.ts, the HTTP ceiling), measured in ONE run on the same machine, the
 * same Redis (a private prefix per run) and the same load, one server at a time.
 *
 *   npm run bench:ingest:baseline
 *
 * Each round runs the three targets one after another (A B C, then again A B C: alternating
 * spreads slow drift of the machine over all three). Each target gets a fresh process, the same
 * warm-up and measured autocannon phases as `bench:ingest` (bench/ingest-core.ts), and the same
 * exact checks: no non-2xx, no errors, nothing cut off, and for the two that enqueue, jobs in Redis
 * == 2xx answers. Prints one table, then the ratios Switchboard / baseline and Switchboard /
 * hello-world for req/s and p99, and writes everything to bench/results/ingest-baseline-<time>.json.
 * Everything (processes, Redis keys, the bench database) is removed in `finally`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../test/support/private-redis.js';
import {
  TENANT_ID,
  bullmqCounts,
  countPhaseJobs,
  phaseFailures,
  phaseJson,
  phaseReqPerSec,
  runPhase,
  startSwitchboardApi,
  stopActiveLoad,
  type AnswerKind,
  type PhaseStats,
} from './ingest-core.js';
import {
  InterruptedError,
  REPO_ROOT,
  RESULTS_DIR,
  SHARED_REDIS_URL,
  WEBHOOK_PATH,
  build,
  countLines,
  cpuByGroup,
  createBenchDatabase,
  deletePrefix,
  dropBenchDatabase,
  errorText,
  gitState,
  installInterruptHandler,
  intEnv,
  machineCpu,
  machineCpuShares,
  onInterrupt,
  randomHex,
  readProcStatusMb,
  round,
  say,
  sleep,
  snapshotCpu,
  startNodeProcess,
  stopSwitchboard,
  throwIfInterrupted,
  waitForHealth,
  waitForListening,
  warnIfNotReady,
  type ProcessCpu,
  type SwitchboardChild,
} from './support.js';

const BASELINE_TSCONFIG = join('bench', 'baseline', 'tsconfig.build.json');
const BASELINE_BUILD_DIR = join(RESULTS_DIR, 'baseline-build');
/** The issue's targets, printed next to the figures (they do not change the exit code). */
const TARGET_RATIO = 1.25;
const TARGET_P99_MS = 10;
const TARGET_RSS_MB = 150;
/** Pause between two targets, so the previous one's teardown (and Redis freeing its keys) is over. */
const SETTLE_MS = 1500;

// ---------------------------------------------------------------------------------------------------
// Settings

interface Settings {
  connections: number;
  durationSeconds: number;
  warmupSeconds: number;
  rounds: number;
  skipBuild: boolean;
  /** Switchboard's LOG_LEVEL: info, because logging is part of what it must do. */
  logLevel: string;
}

function readSettings(): Settings {
  return {
    connections: intEnv('BENCH_CONNECTIONS', 64, 1),
    durationSeconds: intEnv('BENCH_DURATION', 10, 1),
    warmupSeconds: intEnv('BENCH_WARMUP', 2, 0),
    rounds: intEnv('BENCH_ROUNDS', 2, 1),
    skipBuild: process.env['BENCH_SKIP_BUILD'] === '1',
    logLevel: process.env['BENCH_LOG_LEVEL'] ?? 'info',
  };
}

installInterruptHandler();
onInterrupt(stopActiveLoad);

// ---------------------------------------------------------------------------------------------------
// Targets

type TargetKey = 'switchboard' | 'baseline' | 'hello';

interface Target {
  key: TargetKey;
  label: string;
  /** Whether it enqueues (so jobs == 2xx is checked). */
  enqueues: boolean;
  answerKind: AnswerKind;
}

const TARGETS: readonly Target[] = [
  { key: 'switchboard', label: 'Switchboard', enqueues: true, answerKind: 'switchboard' },
  { key: 'baseline', label: 'baseline (Fastify+BullMQ)', enqueues: true, answerKind: 'status-ok' },
  { key: 'hello', label: 'hello-world (Fastify)', enqueues: false, answerKind: 'status-ok' },
];

function logFileOf(key: TargetKey): string {
  return join(RESULTS_DIR, `ingest-baseline-${key}-last-run.log`);
}

/** Compiles bench/baseline/ with the repository's tsc and compiler options, as `npm run build` does src/. */
function compileBaseline(): void {
  say('Compiling bench/baseline (tsc -p bench/baseline/tsconfig.build.json)…');
  try {
    execFileSync(process.execPath, [join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', BASELINE_TSCONFIG], { cwd: REPO_ROOT, stdio: 'pipe', encoding: 'utf8' });
  } catch (error) {
    const failure = error as { stdout?: string; stderr?: string };
    process.stderr.write(`${failure.stdout ?? ''}${failure.stderr ?? ''}`);
    throw new Error('compiling bench/baseline failed');
  }
  for (const file of ['server.js', 'hello.js']) {
    if (!existsSync(join(BASELINE_BUILD_DIR, file))) throw new Error(`${join(BASELINE_BUILD_DIR, file)} missing after the compile`);
  }
}

interface Started {
  child: SwitchboardChild;
  baseUrl: string;
}

async function startTarget(target: Target, context: { databaseUrl: string; redisUrl: string; prefix: string; secret: string; logLevel: string }): Promise<Started> {
  if (target.key === 'switchboard') {
    const { api, baseUrl } = await startSwitchboardApi({ name: 'Switchboard API', ...context, logFile: logFileOf(target.key) });
    await waitForHealth(baseUrl, api);
    await warnIfNotReady(baseUrl, 'Switchboard API');
    return { child: api, baseUrl };
  }
  const port = await freePort();
  const script = join('bench', 'results', 'baseline-build', target.key === 'baseline' ? 'server.js' : 'hello.js');
  const env: Record<string, string> = { PORT: String(port), HOST: '127.0.0.1' };
  if (target.key === 'baseline') Object.assign(env, { REDIS_URL: context.redisUrl, QUEUE_PREFIX: context.prefix, INTERNAL_SECRET: context.secret });
  const child = startNodeProcess({ name: target.label, script, env, logFile: logFileOf(target.key) });
  const baseUrl = `http://127.0.0.1:${port}`;
  // No health route (nothing but the webhook): any answer (a 404 here) means it listens, and the
  // baseline listens only once its queue's Redis connection is ready.
  await waitForListening(`${baseUrl}/`, child);
  return { child, baseUrl };
}

// ---------------------------------------------------------------------------------------------------
// One measurement: start, warm up, measure, stop, verify, delete its keys.

interface CpuFigures {
  /** Seconds of CPU between just before and just after the measured phase. */
  serverSeconds: number;
  redisSeconds: number;
  loadGeneratorSeconds: number;
  otherSeconds: number;
  /** Shares of the whole machine (all cores) over the same window, 0–100. */
  machineIdlePercent: number | null;
}

interface RunRecord {
  target: TargetKey;
  round: number;
  /** Position in the whole run (1 = first measured). */
  order: number;
  prefix: string | null;
  warmup: PhaseStats | undefined;
  measured: PhaseStats;
  jobs: { warmup: number | null; measured: number; queueTotal: number; queueCounts: Record<string, number> } | null;
  /** null when the target does not enqueue. */
  jobsMatch: boolean | null;
  rssMb: { idle: number | null; end: number | null; peak: number | null };
  cpu: CpuFigures;
  logLines: number | null;
  logBytes: number | null;
  load1m: { before: number; after: number };
  failures: string[];
}

async function measureTarget(target: Target, round_: number, order: number, context: {
  settings: Settings;
  databaseUrl: string;
  redisUrl: string;
  redis: Redis;
  runId: string;
  secret: string;
  prefixes: string[];
  running: Set<SwitchboardChild>;
}): Promise<RunRecord> {
  const { settings, redis } = context;
  const load1mBefore = loadavg()[0] ?? 0;
  const prefix = `{sbbench-${context.runId}-${target.key}${round_}}`;
  if (target.enqueues) context.prefixes.push(prefix);
  const tag = `${context.runId.slice(0, 3).toUpperCase()}${target.key[0]?.toUpperCase() ?? 'X'}${round_}`;
  say(`[${order}] ${target.label}, round ${round_}: starting…`);
  const started = await startTarget(target, { databaseUrl: context.databaseUrl, redisUrl: context.redisUrl, prefix, secret: context.secret, logLevel: settings.logLevel });
  context.running.add(started.child);
  const pid = started.child.child.pid;
  const failures: string[] = [];
  let warmup: PhaseStats | undefined;
  let measured: PhaseStats;
  let idle: number | null;
  let end: number | null;
  let peak: number | null;
  let cpu: CpuFigures;
  try {
    idle = pid ? readProcStatusMb(pid, 'VmRSS') : null;
    const phaseOptions = { baseUrl: started.baseUrl, secret: context.secret, connections: settings.connections, answerKind: target.answerKind };
    if (settings.warmupSeconds > 0) {
      throwIfInterrupted();
      warmup = await runPhase({ ...phaseOptions, name: 'warm-up', idPrefix: `3EB0W${tag}`, durationSeconds: settings.warmupSeconds });
    }
    throwIfInterrupted();
    const cpuBefore = snapshotCpu();
    const machineBefore = machineCpu();
    measured = await runPhase({ ...phaseOptions, name: 'measured', idPrefix: `3EB0M${tag}`, durationSeconds: settings.durationSeconds });
    const cpuAfter = snapshotCpu();
    const machineAfter = machineCpu();
    throwIfInterrupted();
    end = pid ? readProcStatusMb(pid, 'VmRSS') : null;
    peak = pid ? readProcStatusMb(pid, 'VmHWM') : null;
    const groups = cpuByGroup(cpuBefore, cpuAfter, (p: ProcessCpu) => {
      if (p.pid === pid) return 'server';
      if (p.pid === process.pid) return 'load';
      if (p.comm.startsWith('redis-server')) return 'redis';
      return undefined;
    });
    cpu = {
      serverSeconds: groups['server'] ?? 0,
      redisSeconds: groups['redis'] ?? 0,
      loadGeneratorSeconds: groups['load'] ?? 0,
      otherSeconds: groups['other'] ?? 0,
      machineIdlePercent: machineCpuShares(machineBefore, machineAfter)?.idle ?? null,
    };
  } finally {
    await stopSwitchboard(started.child, 10_000).catch((error: unknown) => say(`Cleanup: stopping ${target.label} failed: ${errorText(error)}`));
    context.running.delete(started.child);
  }

  let logLines: number | null = null;
  let logBytes: number | null = null;
  if (target.key === 'switchboard' && existsSync(logFileOf(target.key))) {
    logBytes = statSync(logFileOf(target.key)).size;
    logLines = await countLines(logFileOf(target.key));
  }

  const label = `${target.label} round ${round_}`;
  let jobs: RunRecord['jobs'] = null;
  let jobsMatch: boolean | null = null;
  if (target.enqueues) {
    const warmupJobs = warmup ? await countPhaseJobs(redis, prefix, warmup.idPrefix) : null;
    const measuredJobs = await countPhaseJobs(redis, prefix, measured.idPrefix);
    const queueCounts = await bullmqCounts(redis, prefix);
    const queueTotal = Object.values(queueCounts).reduce((sum, n) => sum + n, 0);
    const total2xx = measured.result['2xx'] + (warmup?.result['2xx'] ?? 0);
    jobs = { warmup: warmupJobs, measured: measuredJobs, queueTotal, queueCounts };
    jobsMatch = measuredJobs === measured.result['2xx'] && (!warmup || warmupJobs === warmup.result['2xx']) && queueTotal === total2xx;
    if (warmup) failures.push(...phaseFailures(warmup, warmupJobs ?? 0, `${label} warm-up`));
    failures.push(...phaseFailures(measured, measuredJobs, `${label} measured`));
    if (queueTotal !== total2xx) failures.push(`${label}: queue holds ${queueTotal} jobs (${JSON.stringify(queueCounts)}) but ${total2xx} 2xx answers in all`);
    // Each target starts from the same Redis: this run's keys go before the next one starts.
    await deletePrefix(context.redisUrl, prefix);
  } else {
    if (warmup) failures.push(...phaseFailures(warmup, undefined, `${label} warm-up`));
    failures.push(...phaseFailures(measured, undefined, `${label} measured`));
  }

  const record: RunRecord = {
    target: target.key,
    round: round_,
    order,
    prefix: target.enqueues ? prefix : null,
    warmup,
    measured,
    jobs,
    jobsMatch,
    rssMb: { idle, end, peak },
    cpu,
    logLines,
    logBytes,
    load1m: { before: load1mBefore, after: loadavg()[0] ?? 0 },
    failures,
  };
  const m = measured.result;
  say(
    `[${order}] ${target.label}, round ${round_}: ${round(phaseReqPerSec(measured), 0)} req/s, p50 ${m.latency.p50} / p99 ${m.latency.p99} ms, ` +
      `server CPU ${round((cpu.serverSeconds * 1000) / Math.max(measured.responses, 1), 3)} ms/req${jobs ? `, jobs ${jobs.measured} for ${m['2xx']} 2xx` : ''}` +
      `${failures.length ? ` (${failures.length} failure(s))` : ''}`,
  );
  return record;
}

// ---------------------------------------------------------------------------------------------------
// Summary

function mean(values: number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((sum, v) => sum + v, 0) / values.length;
}

function maxOf(values: Array<number | null>): number | null {
  const present = values.filter((v): v is number => v !== null);
  return present.length === 0 ? null : Math.max(...present);
}

interface Aggregate {
  reqPerSec: number;
  reqPerSecByRound: number[];
  p50: number;
  p90: number;
  p99: number;
  p99ByRound: number[];
  max: number;
  sent: number;
  ok2xx: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  jobsMatch: boolean | null;
  serverCpuMsPerRequest: number;
  cpuMsPerRequestByRound: number[];
  serverCpuCorePercent: number;
  redisCpuMsPerRequest: number;
  otherCpuCorePercent: number;
  machineIdlePercent: number | null;
  rssIdleMb: number | null;
  rssEndMb: number | null;
  rssPeakMb: number | null;
}

function cpuMsPerRequest(run: RunRecord): number {
  return (run.cpu.serverSeconds * 1000) / Math.max(run.measured.responses, 1);
}

function aggregate(runs: RunRecord[]): Aggregate {
  const measured = runs.map((r) => r.measured);
  const idles = runs.map((r) => r.cpu.machineIdlePercent).filter((v): v is number => v !== null);
  const jobsMatches = runs.map((r) => r.jobsMatch);
  return {
    reqPerSec: mean(measured.map(phaseReqPerSec)),
    reqPerSecByRound: measured.map(phaseReqPerSec),
    p50: mean(measured.map((p) => p.result.latency.p50)),
    p90: mean(measured.map((p) => p.result.latency.p90)),
    p99: mean(measured.map((p) => p.result.latency.p99)),
    p99ByRound: measured.map((p) => p.result.latency.p99),
    max: Math.max(...measured.map((p) => p.result.latency.max)),
    sent: measured.reduce((sum, p) => sum + p.result.requests.sent, 0),
    ok2xx: measured.reduce((sum, p) => sum + p.result['2xx'], 0),
    non2xx: measured.reduce((sum, p) => sum + p.result.non2xx, 0),
    errors: measured.reduce((sum, p) => sum + p.result.errors, 0),
    timeouts: measured.reduce((sum, p) => sum + p.result.timeouts, 0),
    jobsMatch: jobsMatches.includes(null) ? null : jobsMatches.every((v) => v === true),
    serverCpuMsPerRequest: mean(runs.map(cpuMsPerRequest)),
    cpuMsPerRequestByRound: runs.map(cpuMsPerRequest),
    serverCpuCorePercent: mean(runs.map((r) => (r.cpu.serverSeconds / Math.max(r.measured.elapsedSeconds, 0.001)) * 100)),
    redisCpuMsPerRequest: mean(runs.map((r) => (r.cpu.redisSeconds * 1000) / Math.max(r.measured.responses, 1))),
    otherCpuCorePercent: mean(runs.map((r) => (r.cpu.otherSeconds / Math.max(r.measured.elapsedSeconds, 0.001)) * 100)),
    machineIdlePercent: idles.length ? mean(idles) : null,
    rssIdleMb: maxOf(runs.map((r) => r.rssMb.idle)),
    rssEndMb: maxOf(runs.map((r) => r.rssMb.end)),
    rssPeakMb: maxOf(runs.map((r) => r.rssMb.peak)),
  };
}

const fmt = (value: number, digits = 1): string => (Number.isFinite(value) ? String(round(value, digits)) : 'n/a');
const fmtMb = (value: number | null): string => (value === null ? 'n/a' : String(value));

function ratio(a: number, b: number): number {
  return b > 0 ? a / b : Number.NaN;
}

interface RatioRow {
  name: string;
  mean: number;
  byRound: number[];
}

function ratios(sb: Aggregate, base: Aggregate, hello: Aggregate): RatioRow[] {
  const perRound = (a: number[], b: number[]): number[] => a.map((v, i) => ratio(v, b[i] ?? Number.NaN));
  return [
    { name: 'Switchboard / baseline, req/s (higher is better)', mean: ratio(sb.reqPerSec, base.reqPerSec), byRound: perRound(sb.reqPerSecByRound, base.reqPerSecByRound) },
    { name: 'Switchboard / baseline, p99 (lower is better)', mean: ratio(sb.p99, base.p99), byRound: perRound(sb.p99ByRound, base.p99ByRound) },
    {
      name: 'Switchboard / baseline, server CPU ms per request (lower is better)',
      mean: ratio(sb.serverCpuMsPerRequest, base.serverCpuMsPerRequest),
      byRound: perRound(sb.cpuMsPerRequestByRound, base.cpuMsPerRequestByRound),
    },
    { name: 'Switchboard / hello-world, req/s', mean: ratio(sb.reqPerSec, hello.reqPerSec), byRound: perRound(sb.reqPerSecByRound, hello.reqPerSecByRound) },
    { name: 'Switchboard / hello-world, p99', mean: ratio(sb.p99, hello.p99), byRound: perRound(sb.p99ByRound, hello.p99ByRound) },
    { name: 'baseline / hello-world, req/s', mean: ratio(base.reqPerSec, hello.reqPerSec), byRound: perRound(base.reqPerSecByRound, hello.reqPerSecByRound) },
    { name: 'baseline / hello-world, p99', mean: ratio(base.p99, hello.p99), byRound: perRound(base.p99ByRound, hello.p99ByRound) },
  ];
}

// ---------------------------------------------------------------------------------------------------
// Main

async function main(): Promise<number> {
  const settings = readSettings();
  mkdirSync(RESULTS_DIR, { recursive: true });
  const runId = randomHex(4);
  const loadBefore = loadavg();
  say(
    `Ingest vs baselines: ${settings.rounds} round(s) of Switchboard, baseline, hello-world; ${settings.connections} connections, ` +
      `${settings.warmupSeconds} s warm-up + ${settings.durationSeconds} s measured each; load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')} on ${cpus().length} CPUs`,
  );

  const dbName = `switchboard_bench_${randomHex(6)}`;
  let dbCreated = false;
  const redisUrl = SHARED_REDIS_URL;
  const secret = randomHex(24);
  const prefixes: string[] = [];
  const running = new Set<SwitchboardChild>();
  let redis: Redis | undefined;

  try {
    if (!settings.skipBuild || !existsSync(join(REPO_ROOT, 'dist', 'main.js'))) build();
    if (!settings.skipBuild || !existsSync(join(BASELINE_BUILD_DIR, 'server.js'))) compileBaseline();
    throwIfInterrupted();
    dbCreated = true; // set before CREATE, so a half-made database is dropped too
    const databaseUrl = await createBenchDatabase(dbName, { id: TENANT_ID, name: 'Benchmark tenant' });
    redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
    redis.on('error', () => undefined);
    say(`Database ${dbName}; Redis ${redisUrl}, prefixes {sbbench-${runId}-<target><round>}; logs ${join(RESULTS_DIR, 'ingest-baseline-<target>-last-run.log')}`);

    const runs: RunRecord[] = [];
    let order = 0;
    for (let r = 1; r <= settings.rounds; r += 1) {
      for (const target of TARGETS) {
        throwIfInterrupted();
        if (order > 0) await sleep(SETTLE_MS);
        order += 1;
        runs.push(await measureTarget(target, r, order, { settings, databaseUrl, redisUrl, redis, runId, secret, prefixes, running }));
      }
    }
    const loadAfter = loadavg();

    const byTarget = new Map<TargetKey, Aggregate>();
    for (const target of TARGETS) byTarget.set(target.key, aggregate(runs.filter((run) => run.target === target.key)));
    const sb = byTarget.get('switchboard');
    const base = byTarget.get('baseline');
    const hello = byTarget.get('hello');
    if (!sb || !base || !hello) throw new Error('a target has no runs');

    const column = (a: Aggregate, key: TargetKey): Record<string, string> => {
      const runsOf = runs.filter((run) => run.target === key);
      return {
        'req/s (mean of rounds)': fmt(a.reqPerSec, 0),
        'req/s by round': a.reqPerSecByRound.map((v) => fmt(v, 0)).join(' / '),
        'latency p50 (ms)': fmt(a.p50),
        'latency p90 (ms)': fmt(a.p90),
        'latency p99 (ms)': fmt(a.p99),
        'latency p99 by round (ms)': a.p99ByRound.map((v) => fmt(v)).join(' / '),
        'latency max (ms, all rounds)': fmt(a.max, 0),
        'requests / 2xx (all rounds)': `${a.sent} / ${a.ok2xx}`,
        'non-2xx / errors / timeouts': `${a.non2xx} / ${a.errors} / ${a.timeouts}`,
        'jobs == 200s': a.jobsMatch === null ? 'n/a (no queue)' : a.jobsMatch ? 'yes' : 'NO',
        'server CPU ms / request': fmt(a.serverCpuMsPerRequest, 3),
        'server CPU (% of one core)': fmt(a.serverCpuCorePercent, 0),
        'redis-server CPU ms / request': fmt(a.redisCpuMsPerRequest, 3),
        'load generator CPU (% of one core)': fmt(mean(runsOf.map((run) => (run.cpu.loadGeneratorSeconds / Math.max(run.measured.elapsedSeconds, 0.001)) * 100)), 0),
        'other processes CPU (% of one core)': fmt(a.otherCpuCorePercent, 0),
        'machine idle % (measured phase)': a.machineIdlePercent === null ? 'n/a' : fmt(a.machineIdlePercent),
        'RSS idle / at end / peak (MB, max of rounds)': `${fmtMb(a.rssIdleMb)} / ${fmtMb(a.rssEndMb)} / ${fmtMb(a.rssPeakMb)}`,
        'load avg 1m before each round': runsOf.map((run) => run.load1m.before.toFixed(2)).join(' / '),
      };
    };
    const table: Record<string, Record<string, string>> = {};
    const columns = TARGETS.map((t) => ({ label: t.label, values: column(byTarget.get(t.key) ?? sb, t.key) }));
    for (const row of Object.keys(columns[0]?.values ?? {})) {
      const line: Record<string, string> = {};
      for (const c of columns) line[c.label] = c.values[row] ?? '';
      table[row] = line;
    }
    say('');
    console.table(table);

    const ratioRows = ratios(sb, base, hello);
    const ratioTable: Record<string, Record<string, string>> = {};
    for (const row of ratioRows) {
      ratioTable[row.name] = { 'mean of rounds': fmt(row.mean, 2), 'by round': row.byRound.map((v) => fmt(v, 2)).join(' / ') };
    }
    console.table(ratioTable);
    const ingestRatio = ratioRows[0]?.mean ?? Number.NaN;
    const targets = {
      ratioAtLeast: { target: TARGET_RATIO, value: round(ingestRatio, 3), met: ingestRatio >= TARGET_RATIO },
      p99AtMostMs: { target: TARGET_P99_MS, value: round(sb.p99, 2), met: sb.p99 <= TARGET_P99_MS },
      rssAtMostMb: { target: TARGET_RSS_MB, value: sb.rssPeakMb, met: sb.rssPeakMb !== null && sb.rssPeakMb <= TARGET_RSS_MB },
    };
    say(
      `Targets (informative, not checked): Switchboard / baseline req/s ≥ ${TARGET_RATIO}: ${targets.ratioAtLeast.met ? 'met' : 'missed'} (${fmt(ingestRatio, 2)}); ` +
        `p99 ≤ ${TARGET_P99_MS} ms: ${targets.p99AtMostMs.met ? 'met' : 'missed'} (${fmt(sb.p99)}); ` +
        `peak RSS ≤ ${TARGET_RSS_MB} MB: ${targets.rssAtMostMb.met ? 'met' : 'missed'} (${fmtMb(sb.rssPeakMb)})`,
    );
    say(`Load average 1m: ${loadBefore[0]?.toFixed(2) ?? '?'} before, ${loadAfter[0]?.toFixed(2) ?? '?'} after (${cpus().length} CPUs)`);

    const failures = runs.flatMap((run) => run.failures);
    const jobsEqual = [sb.jobsMatch, base.jobsMatch].every((v) => v === true);
    say(`jobs == 200s (Switchboard and baseline, every phase): ${jobsEqual ? 'yes' : 'no'}`);

    const stamp = new Date().toISOString();
    const summary = {
      timestamp: stamp,
      ...gitState(),
      node: process.version,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? null,
      loadavg: { before: loadBefore, after: loadAfter },
      settings: {
        connections: settings.connections,
        durationSeconds: settings.durationSeconds,
        warmupSeconds: settings.warmupSeconds,
        rounds: settings.rounds,
        pipelining: 1,
        order: 'each round: switchboard, baseline, hello (a fresh process each)',
        switchboard: `node dist/main.js, SERVICE_ROLE=api, LOG_LEVEL=${settings.logLevel}`,
        baseline: 'node bench/results/baseline-build/server.js (tsc output of bench/baseline/server.ts), logger warn',
        hello: 'node bench/results/baseline-build/hello.js (tsc output of bench/baseline/hello.ts), logger warn',
        route: WEBHOOK_PATH,
        redis: redisUrl,
      },
      table,
      ratios: ratioRows.map((row) => ({ name: row.name, mean: round(row.mean, 3), byRound: row.byRound.map((v) => round(v, 3)) })),
      targets,
      aggregates: Object.fromEntries([...byTarget.entries()].map(([key, a]) => [key, a])),
      runs: runs.map((run) => ({
        target: run.target,
        round: run.round,
        order: run.order,
        prefix: run.prefix,
        phases: [
          ...(run.warmup ? [phaseJson(run.warmup, run.jobs?.warmup ?? null)] : []),
          phaseJson(run.measured, run.jobs?.measured ?? null),
        ],
        queue: run.jobs ? { total: run.jobs.queueTotal, counts: run.jobs.queueCounts } : null,
        jobsEqual2xx: run.jobsMatch,
        rssMb: run.rssMb,
        cpuSeconds: {
          server: round(run.cpu.serverSeconds, 3),
          redis: round(run.cpu.redisSeconds, 3),
          loadGenerator: round(run.cpu.loadGeneratorSeconds, 3),
          other: round(run.cpu.otherSeconds, 3),
        },
        machineIdlePercent: run.cpu.machineIdlePercent,
        log: run.logLines === null ? null : { lines: run.logLines, bytes: run.logBytes },
        load1m: run.load1m,
        failures: run.failures,
      })),
      jobsEqual2xx: jobsEqual,
      ok: failures.length === 0,
      failures,
    };
    const file = join(RESULTS_DIR, `ingest-baseline-${stamp.replace(/:/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify(summary, null, 2)}\n`);
    say(`Summary written to ${file}`);
    for (const failure of failures) say(`FAIL ${failure}`);
    return failures.length === 0 ? 0 : 1;
  } finally {
    // Clean up, each step on its own so one failure does not skip the others.
    redis?.disconnect();
    for (const child of running) {
      await stopSwitchboard(child, 10_000).catch((error: unknown) => say(`Cleanup: stopping ${child.name} failed: ${errorText(error)}`));
    }
    for (const prefix of prefixes) {
      await deletePrefix(redisUrl, prefix).catch((error: unknown) => say(`Cleanup: deleting Redis keys under ${prefix} failed: ${errorText(error)}`));
    }
    if (dbCreated) {
      await dropBenchDatabase(dbName).catch((error: unknown) => say(`Cleanup: dropping ${dbName} failed: ${errorText(error)}`));
    }
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof InterruptedError) process.stderr.write('bench:ingest:baseline interrupted; cleaned up\n');
    else process.stderr.write(`bench:ingest:baseline failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
