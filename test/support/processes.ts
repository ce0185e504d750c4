/**
 * Runs Switchboard as a real child process (`node --import tsx src/main.ts`), so tests can SIGKILL a
 * worker mid-job, SIGTERM it, or check that an API process survives a Redis outage.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
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
