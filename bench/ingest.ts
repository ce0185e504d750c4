/**
 * Ingest benchmark: how many webhook calls (and messages) per second the API role turns into queued
 * jobs, at what latency, memory and API CPU per message, and whether every 2xx really left exactly
 * one job per message in Redis.
 *
 *   npm run bench:ingest
 *
 * Arrange: a fresh PostgreSQL database (migrated, tenant `bench`), a private BullMQ prefix on the
 * shared Redis, and the built API (`node dist/main.js`, SERVICE_ROLE=api, LOG_LEVEL=info, logs to
 * bench/results/api-last-run.log). Act: a warm-up, then the measured autocannon run, every request a
 * `messages.upsert` of BENCH_BATCH messages (default 1), each with a unique WhatsApp message id.
 * Assert: the jobs in Redis equal 2xx answers × BENCH_BATCH, exactly, per phase. Everything is torn down in `finally`. See bench/README.md.
 */
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import {
  API_NODE_ARGS,
  QUEUE,
  TENANT_ID,
  batchSizeEnv,
  bullmqCounts,
  countPhaseJobs,
  phaseAcceptedMessages,
  phaseFailures,
  phaseJson,
  phaseMessagesPerSec,
  phaseReqPerSec,
  runPhase,
  startSwitchboardApi,
  stopActiveLoad,
  type PhaseStats,
} from './ingest-core.js';
import { printProfiles } from './cpu-profile.js';
import {
  InterruptedError,
  RESULTS_DIR,
  SHARED_REDIS_URL,
  build,
  countLines,
  cpuByGroup,
  createBenchDatabase,
  deletePrefix,
  dropBenchDatabase,
  git,
  installInterruptHandler,
  intEnv,
  onInterrupt,
  randomHex,
  readProcStatusMb,
  round,
  say,
  snapshotCpu,
  stopSwitchboard,
  throwIfInterrupted,
  waitForHealth,
  warnIfNotReady,
  type SwitchboardChild,
} from './support.js';

const API_LOG = join(RESULTS_DIR, 'api-last-run.log');

// ---------------------------------------------------------------------------------------------------
// Settings

interface Settings {
  connections: number;
  /** BENCH_BATCH: messages in each webhook request's `messages.upsert` (1..1000). */
  batchSize: number;
  durationSeconds: number;
  warmupSeconds: number;
  /** Set when benchmarking an API someone else started (BENCH_TARGET_URL). */
  external: { url: string; secret: string; prefix: string; redisUrl: string; pid: number | undefined } | undefined;
  skipBuild: boolean;
  /** The spawned API's LOG_LEVEL; info by default, because logging is part of the ingest cost. */
  logLevel: string;
  /** BENCH_CPU_PROF=1: the spawned API runs with `--cpu-prof`; its profile is summarised at the end. */
  cpuProfile: boolean;
}

function readSettings(): Settings {
  const targetUrl = process.env['BENCH_TARGET_URL'];
  let external: Settings['external'];
  if (targetUrl) {
    const secret = process.env['BENCH_SECRET'];
    const prefix = process.env['BENCH_PREFIX'];
    if (!secret || !prefix) throw new Error('BENCH_TARGET_URL needs BENCH_SECRET and BENCH_PREFIX (the API\'s QUEUE_PREFIX)');
    const pid = process.env['BENCH_API_PID'];
    external = {
      url: targetUrl.replace(/\/+$/, ''),
      secret,
      prefix,
      redisUrl: process.env['BENCH_REDIS_URL'] ?? SHARED_REDIS_URL,
      pid: pid ? Number(pid) : undefined,
    };
  }
  return {
    connections: intEnv('BENCH_CONNECTIONS', 64, 1),
    batchSize: batchSizeEnv(),
    durationSeconds: intEnv('BENCH_DURATION', 10, 1),
    warmupSeconds: intEnv('BENCH_WARMUP', 2, 0),
    external,
    skipBuild: process.env['BENCH_SKIP_BUILD'] === '1',
    logLevel: process.env['BENCH_LOG_LEVEL'] ?? 'info',
    cpuProfile: process.env['BENCH_CPU_PROF'] === '1',
  };
}

// ---------------------------------------------------------------------------------------------------
// Interruption (Ctrl-C): stop the load, then let `finally` clean up.

installInterruptHandler();
onInterrupt(stopActiveLoad);

// ---------------------------------------------------------------------------------------------------
// Main

async function main(): Promise<number> {
  const settings = readSettings();
  mkdirSync(RESULTS_DIR, { recursive: true });
  const runTag = randomHex(3).toUpperCase();
  const profileDir = join(RESULTS_DIR, `profiles-ingest-${new Date().toISOString().replace(/:/g, '-')}`);
  const loadBefore = loadavg();
  say(`Switchboard ingest bench: ${settings.connections} connections, BENCH_BATCH=${settings.batchSize} message(s) per webhook, ${settings.warmupSeconds} s warm-up + ${settings.durationSeconds} s measured; load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')} on ${cpus().length} CPUs`);

  const dbName = `switchboard_bench_${randomHex(6)}`;
  let dbCreated = false;
  let api: SwitchboardChild | undefined;
  const external = settings.external;
  const redisUrl = external?.redisUrl ?? SHARED_REDIS_URL;
  const prefix = external?.prefix ?? `{sbbench-${randomHex(6)}}`;
  const secret = external?.secret ?? randomHex(24);
  let baseUrl: string;
  let apiPid: number | undefined;
  let redis: Redis | undefined;
  const failures: string[] = [];

  try {
    if (external) {
      baseUrl = external.url;
      apiPid = external.pid;
      say(`Target: ${baseUrl} (external; tenant "${TENANT_ID}" must exist there)`);
      await waitForHealth(baseUrl, undefined, 5000);
    } else {
      if (!settings.skipBuild) build();
      throwIfInterrupted();
      dbCreated = true; // set before CREATE, so a half-made database is dropped too
      const databaseUrl = await createBenchDatabase(dbName, { id: TENANT_ID, name: 'Benchmark tenant' });
      if (settings.cpuProfile) mkdirSync(profileDir, { recursive: true });
      const nodeArgs = settings.cpuProfile ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [];
      const started = await startSwitchboardApi({ databaseUrl, redisUrl, prefix, secret, logLevel: settings.logLevel, logFile: API_LOG, nodeArgs });
      api = started.api;
      baseUrl = started.baseUrl;
      apiPid = api.child.pid;
      say(`API: pid ${String(apiPid)} on ${baseUrl} (node ${API_NODE_ARGS.join(' ')}), database ${dbName}, prefix ${prefix}, log ${API_LOG}`);
      await waitForHealth(baseUrl, api);
    }
    await warnIfNotReady(baseUrl);
    const idleRssMb = apiPid ? readProcStatusMb(apiPid, 'VmRSS') : null;
    redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
    redis.on('error', () => undefined);

    const phases: PhaseStats[] = [];
    if (settings.warmupSeconds > 0) {
      throwIfInterrupted();
      say(`Warm-up: ${settings.warmupSeconds} s…`);
      phases.push(
        await runPhase({
          name: 'warm-up',
          idPrefix: `3EB0W${runTag}`,
          baseUrl,
          secret,
          connections: settings.connections,
          durationSeconds: settings.warmupSeconds,
          batchSize: settings.batchSize,
        }),
      );
    }
    throwIfInterrupted();
    say(`Measuring: ${settings.durationSeconds} s…`);
    // The API's CPU time (utime + stime from /proc/<pid>/stat) over the measured phase only.
    const cpuBefore = snapshotCpu();
    const measured = await runPhase({
      name: 'measured',
      idPrefix: `3EB0M${runTag}`,
      baseUrl,
      secret,
      connections: settings.connections,
      durationSeconds: settings.durationSeconds,
      batchSize: settings.batchSize,
    });
    const cpuAfter = snapshotCpu();
    phases.push(measured);
    throwIfInterrupted();
    const apiCpuSeconds = apiPid && cpuAfter.has(apiPid) ? (cpuByGroup(cpuBefore, cpuAfter, (p) => (p.pid === apiPid ? 'api' : undefined))['api'] ?? 0) : null;

    // Resident memory right after the load, before anything is torn down.
    const rssMb = apiPid ? readProcStatusMb(apiPid, 'VmRSS') : null;
    const peakRssMb = apiPid ? readProcStatusMb(apiPid, 'VmHWM') : null;

    // Verify: per phase, the job hashes carrying that phase's ids equal its 2xx answers × BENCH_BATCH.
    const jobsByPhase: Record<string, number> = {};
    let jobsMatch = true;
    for (const phase of phases) {
      const jobs = await countPhaseJobs(redis, prefix, phase.idPrefix);
      jobsByPhase[phase.name] = jobs;
      if (jobs !== phaseAcceptedMessages(phase)) jobsMatch = false;
      failures.push(...phaseFailures(phase, jobs));
    }
    const total2xx = phases.reduce((sum, p) => sum + p.result['2xx'], 0);
    const totalMessages = phases.reduce((sum, p) => sum + phaseAcceptedMessages(p), 0);
    // With a private prefix the whole queue is ours: BullMQ's own counts must agree too.
    let queueCounts: Record<string, number> | undefined;
    let queueTotal: number | undefined;
    if (!external) {
      queueCounts = await bullmqCounts(redis, prefix);
      queueTotal = Object.values(queueCounts).reduce((sum, n) => sum + n, 0);
      if (queueTotal !== totalMessages) {
        jobsMatch = false;
        failures.push(
          `queue "${QUEUE}" holds ${queueTotal} jobs (${JSON.stringify(queueCounts)}) but ${total2xx} 2xx answers in all` +
            `${settings.batchSize === 1 ? '' : ` × ${settings.batchSize} messages = ${totalMessages}`}`,
        );
      }
    }

    const m = measured.result;
    const reqPerSec = phaseReqPerSec(measured);
    const measuredMessages = phaseAcceptedMessages(measured);
    const apiCpuMsPerRequest = apiCpuSeconds === null ? null : (apiCpuSeconds * 1000) / Math.max(1, measured.responses);
    const apiCpuMsPerMessage = apiCpuSeconds === null ? null : (apiCpuSeconds * 1000) / Math.max(1, measuredMessages);
    let logBytes: number | null = null;
    let logLines: number | null = null;
    if (!external && existsSync(API_LOG)) {
      logBytes = statSync(API_LOG).size;
      logLines = await countLines(API_LOG);
    }
    const loadAfter = loadavg();
    const warm = phases.find((p) => p.name === 'warm-up');

    const table: Record<string, string | number> = {
      'messages per webhook': settings.batchSize,
      'req/s (mean)': round(reqPerSec, 0),
      'req/s (per-second samples: min / max)': `${m.requests.min} / ${m.requests.max}`,
      'messages/s (req/s × batch)': round(phaseMessagesPerSec(measured), 0),
      'API CPU ms per request': apiCpuMsPerRequest === null ? 'n/a' : round(apiCpuMsPerRequest, 3),
      'API CPU ms per message': apiCpuMsPerMessage === null ? 'n/a' : round(apiCpuMsPerMessage, 3),
      'API CPU (% of one core)': apiCpuSeconds === null ? 'n/a' : round((apiCpuSeconds / Math.max(measured.elapsedSeconds, 0.001)) * 100, 0),
      'latency p50 (ms)': m.latency.p50,
      'latency p90 (ms)': m.latency.p90,
      'latency p99 (ms)': m.latency.p99,
      'latency max (ms)': m.latency.max,
      'latency mean (ms)': round(m.latency.mean, 2),
      'measured for (s)': round(measured.elapsedSeconds, 2),
      'total requests': m.requests.sent,
      '2xx': m['2xx'],
      'messages accepted (2xx × batch)': measuredMessages,
      'non-2xx': m.non2xx,
      errors: m.errors,
      timeouts: m.timeouts,
      'jobs in Redis (measured ids)': jobsByPhase['measured'] ?? 0,
      'warm-up messages accepted / jobs': warm ? `${phaseAcceptedMessages(warm)} / ${jobsByPhase['warm-up'] ?? 0}` : 'none',
      'jobs in queue (BullMQ, all phases)': queueTotal ?? 'n/a (external)',
      'jobs == 2xx × batch': jobsMatch ? 'yes' : 'no',
      'API RSS idle, before load (MB)': idleRssMb ?? 'n/a',
      'API RSS at end (MB)': rssMb ?? 'n/a',
      'API peak RSS (MB)': peakRssMb ?? 'n/a',
      [`API log at ${settings.logLevel} (lines / MB)`]: logBytes === null ? 'n/a' : `${logLines ?? 0} / ${round(logBytes / 1024 / 1024, 1)}`,
      'load avg 1m (before / after)': `${loadBefore[0]?.toFixed(2) ?? '?'} / ${loadAfter[0]?.toFixed(2) ?? '?'}`,
    };
    say('');
    console.table(table);
    say(`jobs == 2xx × ${settings.batchSize} (messages per webhook): ${jobsMatch ? 'yes' : 'no'}`);

    const stamp = new Date().toISOString();
    const commit = git(['rev-parse', '--short', 'HEAD']);
    const summary = {
      timestamp: stamp,
      commit,
      workingTreeDirty: git(['status', '--porcelain', '--untracked-files=no']) !== '',
      node: process.version,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? null,
      loadavg: { before: loadBefore, after: loadAfter },
      settings: {
        connections: settings.connections,
        batchSize: settings.batchSize,
        durationSeconds: settings.durationSeconds,
        warmupSeconds: settings.warmupSeconds,
        pipelining: 1,
        target: external ? external.url : 'spawned api role (node dist/main.js)',
        logLevel: external ? null : settings.logLevel,
      },
      summary: table,
      phases: phases.map((p) => phaseJson(p, jobsByPhase[p.name] ?? 0)),
      queue: { prefix, counts: queueCounts ?? null, total: queueTotal ?? null },
      api: {
        idleRssMb,
        rssMb,
        peakRssMb,
        logLines,
        logBytes,
        measuredCpuSeconds: apiCpuSeconds === null ? null : round(apiCpuSeconds, 3),
        cpuMsPerRequest: apiCpuMsPerRequest === null ? null : round(apiCpuMsPerRequest, 4),
        cpuMsPerMessage: apiCpuMsPerMessage === null ? null : round(apiCpuMsPerMessage, 4),
      },
      jobsEqual2xx: jobsMatch,
      ok: failures.length === 0,
      failures,
    };
    const file = join(RESULTS_DIR, `ingest-${stamp.replace(/:/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify(summary, null, 2)}\n`);
    say(`Summary written to ${file}`);
    for (const failure of failures) say(`FAIL ${failure}`);
    return failures.length === 0 ? 0 : 1;
  } finally {
    // Clean up, each step on its own so one failure does not skip the others.
    redis?.disconnect();
    if (api) {
      await stopSwitchboard(api).catch((error: unknown) => say(`Cleanup: stopping the API failed: ${(error as Error).message}`));
      // The profile is written when the process exits.
      if (settings.cpuProfile) printProfiles(profileDir, say);
    }
    if (!external) {
      await deletePrefix(redisUrl, prefix).catch((error: unknown) =>
        say(`Cleanup: deleting Redis keys under ${prefix} failed: ${(error as Error).message}`),
      );
      if (dbCreated) {
        await dropBenchDatabase(dbName).catch((error: unknown) => say(`Cleanup: dropping ${dbName} failed: ${(error as Error).message}`));
      }
    } else {
      say(`External target: the bench jobs stay under ${prefix} (nothing was deleted).`);
    }
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof InterruptedError) process.stderr.write('bench:ingest interrupted; cleaned up\n');
    else process.stderr.write(`bench:ingest failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
