/**
 * Runs Switchboard as a real child process (`node --import tsx src/main.ts`), so tests can SIGKILL a
 * worker mid-job, SIGTERM it, or check that an API process survives a Redis outage.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { TEST_ADMIN_TOKEN, TEST_SECRET } from './config.js';
import { freePort } from './private-redis.js';
import { waitFor } from './wait.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface LogLine {
  msg?: string;
  [key: string]: unknown;
}

export class SwitchboardProcess {
  readonly lines: LogLine[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<number | null>;

  private constructor(readonly child: ChildProcess) {
    let buffer = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      let newline = buffer.indexOf('\n');
      while (newline >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        try {
          this.lines.push(JSON.parse(line) as LogLine);
        } catch {
          this.lines.push({ msg: line, raw: true });
        }
        newline = buffer.indexOf('\n');
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => this.stderr.push(chunk.toString('utf8')));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  static spawn(env: Record<string, string>): SwitchboardProcess {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: REPO_ROOT,
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/tmp', LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new SwitchboardProcess(child);
  }

  get isRunning(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  hasLog(msg: string, match: (line: LogLine) => boolean = () => true): boolean {
    return this.lines.some((l) => l.msg === msg && match(l));
  }

  async waitForLog(msg: string, match: (line: LogLine) => boolean = () => true, timeoutMs = 20_000): Promise<LogLine> {
    return waitFor(
      () => {
        if (!this.isRunning && !this.hasLog(msg, match)) throw new Error(`process exited: ${this.stderr.join('')}`);
        return this.lines.find((l) => l.msg === msg && match(l));
      },
      { timeoutMs, what: `log "${msg}"` },
    );
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    if (this.isRunning) this.child.kill(signal);
    return this.exited;
  }
}

const READY_LOG = { api: 'API listening', worker: 'Worker consuming', scheduler: 'Scheduler started' } as const;

export interface StartedRole {
  proc: SwitchboardProcess;
  port: number;
}

/**
 * Starts one role as a real process on a free port with the test secrets, and waits until it is ready.
 * `freePort()` cannot reserve the port, so another process may take it first: an exit with
 * EADDRINUSE at start is retried (twice), anything else fails the test with the process's stderr.
 */
export async function startRole(role: keyof typeof READY_LOG, env: Record<string, string>): Promise<StartedRole> {
  for (let attempt = 1; ; attempt += 1) {
    const port = await freePort();
    const proc = SwitchboardProcess.spawn({
      SERVICE_ROLE: role,
      PORT: String(port),
      HOST: '127.0.0.1',
      INTERNAL_SECRET: TEST_SECRET,
      ADMIN_TOKEN: TEST_ADMIN_TOKEN,
      ...env,
    });
    try {
      await waitFor(() => proc.hasLog(READY_LOG[role]) || !proc.isRunning, { timeoutMs: 20_000, what: `a ${role} process to start` });
    } catch (error) {
      await proc.kill('SIGKILL');
      throw error;
    }
    if (proc.isRunning) return { proc, port };
    const stderr = proc.stderr.join('');
    if (attempt >= 3 || !stderr.includes('EADDRINUSE')) throw new Error(`The ${role} process exited at start: ${stderr}`);
  }
}
