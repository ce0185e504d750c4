/**
 * What the benchmarks share: the build, the throw-away bench database, Switchboard child processes
 * with their logs in files, Ctrl-C handling, Redis prefix cleanup and a few /proc readers.
 * Nothing here measures anything; each bench owns its load and its figures.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, createReadStream, existsSync, openSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import { openDatabase } from '../src/db/database.js';
import { migrate } from '../src/db/migrate.js';
import type { NewTenant } from '../src/db/schema.js';

export const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));
export const RESULTS_DIR = join(REPO_ROOT, 'bench', 'results');
export const PG_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
export const PG_BASE_URL = 'postgres://postgres@127.0.0.1:5432/';
export const SHARED_REDIS_URL = 'redis://127.0.0.1:6379';
export const WEBHOOK_PATH = '/webhook/whatsapp/incoming';

// ---------------------------------------------------------------------------------------------------
// Small things

export function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

export function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** An integer environment variable, at least `min`, or `fallback` when unset or empty. */
export function intEnv(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be an integer >= ${min} (got "${raw}")`);
  return value;
}

export function git(args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

/** The commit measured and whether tracked files differed from it. */
export function gitState(): { commit: string; workingTreeDirty: boolean } {
  return { commit: git(['rev-parse', '--short', 'HEAD']), workingTreeDirty: git(['status', '--porcelain', '--untracked-files=no']) !== '' };
}

// ---------------------------------------------------------------------------------------------------
// Interruption (Ctrl-C): the bench stops its load, then its `finally` cleans up.

export class InterruptedError extends Error {
  constructor() {
    super('Interrupted');
    this.name = 'InterruptedError';
  }
}

let interrupted = false;
const interruptListeners = new Set<() => void>();

/** Installs the SIGINT/SIGTERM handler once; the listeners run on the first signal. */
export function installInterruptHandler(): void {
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`\n${signal}: stopping and cleaning up…\n`);
    for (const listener of interruptListeners) listener();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

/** Runs `listener` on interruption; returns the function that removes it. */
export function onInterrupt(listener: () => void): () => void {
  interruptListeners.add(listener);
  return () => interruptListeners.delete(listener);
}

export function isInterrupted(): boolean {
  return interrupted;
}

export function throwIfInterrupted(): void {
  if (interrupted) throw new InterruptedError();
}

// ---------------------------------------------------------------------------------------------------
// Build and database

export function build(): void {
  say('Building (npm run build)…');
  try {
    execFileSync('npm', ['run', 'build'], { cwd: REPO_ROOT, stdio: 'pipe', encoding: 'utf8' });
  } catch (error) {
    const failure = error as { stdout?: string; stderr?: string };
    process.stderr.write(`${failure.stdout ?? ''}${failure.stderr ?? ''}`);
    throw new Error('npm run build failed; not benchmarking stale or partial code (BENCH_SKIP_BUILD=1 uses dist/ as it is)');
  }
  if (!existsSync(join(REPO_ROOT, 'dist', 'main.js'))) throw new Error('dist/main.js missing after the build');
}

export async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Creates database `name` on the local PostgreSQL, migrates it, inserts `tenant`; returns its URL. */
export async function createBenchDatabase(name: string, tenant: NewTenant): Promise<string> {
  await withAdmin((c) => c.query(`CREATE DATABASE ${name}`));
  const url = `${PG_BASE_URL}${name}`;
  const handle = await openDatabase({ url, dataDir: join(RESULTS_DIR, 'unused'), poolSize: 2 });
  try {
    await migrate(handle.db);
    await handle.db.insertInto('tenants').values(tenant).execute();
  } finally {
    await handle.close();
  }
  return url;
}

export async function dropBenchDatabase(name: string): Promise<void> {
  await withAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}

// ---------------------------------------------------------------------------------------------------
// Switchboard child processes

export interface SwitchboardChild {
  /** For messages: "API", "worker 1"… */
  name: string;
  child: ChildProcess;
  exited: Promise<void>;
  logFile: string;
}

/**
 * Starts `node [nodeArgs] dist/main.js` with exactly `env` (plus PATH and HOME). The child writes its
 * log straight into `logFile` (truncated): nothing reaches the terminal or the bench's memory.
 */
export function startSwitchboard(options: { name: string; env: Record<string, string>; logFile: string; nodeArgs?: string[] }): SwitchboardChild {
  return startNodeProcess({ ...options, script: 'dist/main.js' });
}

/**
 * Starts `node [nodeArgs] <script>` (relative to the repository root) the same way as
 * `startSwitchboard`: exactly `env` plus PATH and HOME, output into `logFile`. The ingest baseline
 * bench starts its comparison servers with it, so every server runs under the same Node and flags.
 */
export function startNodeProcess(options: { name: string; script: string; env: Record<string, string>; logFile: string; nodeArgs?: string[] }): SwitchboardChild {
  const logFd = openSync(options.logFile, 'w');
  try {
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), options.script], {
      cwd: REPO_ROOT,
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/tmp', ...options.env },
      stdio: ['ignore', logFd, logFd],
    });
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    return { name: options.name, child, exited, logFile: options.logFile };
  } finally {
    closeSync(logFd);
  }
}

export function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
export async function stopSwitchboard(process_: SwitchboardChild, graceMs = 30_000): Promise<void> {
  if (!isRunning(process_.child)) return;
  process_.child.kill('SIGTERM');
  const timedOut = await Promise.race([process_.exited.then(() => false), sleep(graceMs).then(() => true)]);
  if (timedOut && isRunning(process_.child)) {
    say(`${process_.name} did not exit ${Math.round(graceMs / 1000)} s after SIGTERM; sending SIGKILL`);
    process_.child.kill('SIGKILL');
    await process_.exited;
  }
}

export function logTail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Polls `GET /health` until it answers 2xx; fails early if `process_` exits. */
export async function waitForHealth(baseUrl: string, process_: SwitchboardChild | undefined, timeoutMs = 30_000): Promise<void> {
  const name = process_?.name ?? 'API';
  const tail = (): string => (process_ ? `:\n${logTail(process_.logFile, 20)}` : '');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    throwIfInterrupted();
    if (process_ && !isRunning(process_.child)) throw new Error(`${name} exited during start-up (code ${String(process_.child.exitCode)})${tail()}`);
    try {
      const response = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(1000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${name} did not answer GET /health within ${timeoutMs} ms${tail()}`);
    await sleep(100);
  }
}

/**
 * Polls `GET <url>` until the server answers anything at all (any status: a server without a
 * health route answers 404 once it listens); fails early if `process_` exits.
 */
export async function waitForListening(url: string, process_: SwitchboardChild, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    throwIfInterrupted();
    if (!isRunning(process_.child)) {
      throw new Error(`${process_.name} exited during start-up (code ${String(process_.child.exitCode)}):\n${logTail(process_.logFile, 20)}`);
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await response.arrayBuffer();
      return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${process_.name} did not answer GET ${url} within ${timeoutMs} ms:\n${logTail(process_.logFile, 20)}`);
    await sleep(100);
  }
}

/** `GET /ready`; prints a warning (does not fail) when it is not 2xx. */
export async function warnIfNotReady(baseUrl: string, name = 'API'): Promise<void> {
  try {
    const response = await fetch(`${baseUrl}/ready`, { signal: AbortSignal.timeout(3000) });
    if (!response.ok) say(`Warning: ${name} GET /ready answered ${response.status}: ${await response.text()}`);
  } catch (error) {
    say(`Warning: ${name} GET /ready failed: ${errorText(error)}`);
  }
}

// ---------------------------------------------------------------------------------------------------
// The webhook's answer

/** The webhook's 2xx body: how many of the posted messages became new jobs. */
export interface OkBody {
  status: 'ok';
  enqueued: number;
  duplicates: number;
  ignored: number;
}

export function parseOkBody(body: string): OkBody | undefined {
  try {
    const value: unknown = JSON.parse(body);
    if (typeof value !== 'object' || value === null) return undefined;
    const v = value as Record<string, unknown>;
    if (v['status'] !== 'ok' || typeof v['enqueued'] !== 'number' || typeof v['duplicates'] !== 'number' || typeof v['ignored'] !== 'number') {
      return undefined;
    }
    return { status: 'ok', enqueued: v['enqueued'], duplicates: v['duplicates'], ignored: v['ignored'] };
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------
// Redis

export function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, (ch) => `\\${ch}`);
}

export async function scanKeys(redis: Redis, pattern: string, each: (keys: string[]) => Promise<void>): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 2000);
    cursor = next;
    if (keys.length > 0) await each(keys);
  } while (cursor !== '0');
}

/** Deletes every key under `prefix` (`<prefix>:*`); returns how many. */
export async function deletePrefix(redisUrl: string, prefix: string): Promise<number> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  let deleted = 0;
  try {
    await scanKeys(redis, `${globEscape(prefix)}:*`, async (keys) => {
      deleted += await redis.unlink(...keys);
    });
  } finally {
    redis.disconnect();
  }
  return deleted;
}

// ---------------------------------------------------------------------------------------------------
// /proc

export function readProcStatusMb(pid: number, field: 'VmRSS' | 'VmHWM'): number | null {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match?.[1] ? Math.round((Number(match[1]) / 1024) * 10) / 10 : null;
  } catch {
    return null;
  }
}

export async function countLines(path: string): Promise<number> {
  let lines = 0;
  for await (const chunk of createReadStream(path)) {
    const bytes = chunk as Buffer;
    for (let i = bytes.indexOf(10); i !== -1; i = bytes.indexOf(10, i + 1)) lines += 1;
  }
  return lines;
}

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    const raw = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    clockTicks = Number.isInteger(raw) && raw > 0 ? raw : 100;
  }
  return clockTicks;
}

export interface ProcessCpu {
  pid: number;
  comm: string;
  /** User + system CPU seconds since the process started. */
  cpuSeconds: number;
}

/** CPU time of every process visible in /proc (Linux only; empty elsewhere). */
export function snapshotCpu(): Map<number, ProcessCpu> {
  const result = new Map<number, ProcessCpu>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return result;
  }
  const hz = ticksPerSecond();
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // "pid (comm) state ppid …": comm may contain spaces and parentheses, so split after the last ')'.
    const open = stat.indexOf('(');
    const close = stat.lastIndexOf(')');
    if (open < 0 || close < 0) continue;
    const fields = stat.slice(close + 2).split(' ');
    // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    if (!Number.isFinite(utime) || !Number.isFinite(stime)) continue;
    result.set(Number(entry), { pid: Number(entry), comm: stat.slice(open + 1, close), cpuSeconds: (utime + stime) / hz });
  }
  return result;
}

/**
 * CPU seconds each group used between two snapshots. `classify` names a process's group (or returns
 * undefined for "other"); a process that appeared in between counts from zero.
 */
export function cpuByGroup(before: Map<number, ProcessCpu>, after: Map<number, ProcessCpu>, classify: (p: ProcessCpu) => string | undefined): Record<string, number> {
  const groups: Record<string, number> = {};
  for (const [pid, now] of after) {
    const then = before.get(pid);
    const used = now.cpuSeconds - (then && then.comm === now.comm ? then.cpuSeconds : 0);
    if (used <= 0) continue;
    const group = classify(now) ?? 'other';
    groups[group] = (groups[group] ?? 0) + used;
  }
  return groups;
}

export interface MachineCpu {
  user: number;
  system: number;
  iowait: number;
  idle: number;
  steal: number;
  other: number;
}

/** The machine's CPU time in seconds since boot, all cores together (`cpu` line of /proc/stat). */
export function machineCpu(): MachineCpu | null {
  let line: string | undefined;
  try {
    line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  } catch {
    return null;
  }
  if (!line?.startsWith('cpu ')) return null;
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line.trim().split(/\s+/).slice(1).map(Number);
  const hz = ticksPerSecond();
  return { user: (user + nice) / hz, system: system / hz, iowait: iowait / hz, idle: idle / hz, steal: steal / hz, other: (irq + softirq) / hz };
}

/** Shares (0–100) of each kind of CPU time between two `machineCpu()` readings. */
export function machineCpuShares(before: MachineCpu | null, after: MachineCpu | null): MachineCpu | null {
  if (!before || !after) return null;
  const d = (k: keyof MachineCpu): number => after[k] - before[k];
  const total = d('user') + d('system') + d('iowait') + d('idle') + d('steal') + d('other');
  if (total <= 0) return null;
  const share = (k: keyof MachineCpu): number => Math.round((d(k) / total) * 1000) / 10;
  return { user: share('user'), system: share('system'), iowait: share('iowait'), idle: share('idle'), steal: share('steal'), other: share('other') };
}
