/**
 * Reads a V8 `.cpuprofile` (what `node --cpu-prof` writes) and sums self time by function and by
 * package, so a bench can print where a process spent its CPU without opening DevTools.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface ProfileEntry {
  name: string;
  /** Milliseconds of self time. */
  selfMs: number;
  /** Share of all samples, 0–100. */
  percent: number;
}

export interface ProfileSummary {
  totalMs: number;
  /** Self time outside `(idle)` (the event loop waiting), GC included. */
  busyMs: number;
  gcMs: number;
  idleMs: number;
  topFunctions: ProfileEntry[];
  byPackage: ProfileEntry[];
  /**
   * Like `byPackage`, but time in native code and Node core (socket writes, JSON, timers…) is charged
   * to the nearest package or Switchboard module up the stack that called it: "who made the syscalls".
   */
  byCallingPackage: ProfileEntry[];
}

/** Where a script lives: `bullmq`, `pg`, `node:internal`, `switchboard src/…`, `(gc)`… */
function packageOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (url === '') {
    if (functionName === '(garbage collector)') return '(gc)';
    if (functionName === '(idle)' || functionName === '(program)' || functionName === '(root)') return functionName;
    return '(native)';
  }
  if (url.startsWith('node:')) return 'node: (core)';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + '/node_modules/'.length).split('/');
    const first = rest[0] ?? '?';
    return first.startsWith('@') ? `${first}/${rest[1] ?? ''}` : first;
  }
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return `switchboard ${url.slice(dist + '/dist/'.length).split('/').slice(0, 2).join('/')}`;
  return url;
}

function shortUrl(url: string): string {
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) return url.slice(modules + '/node_modules/'.length);
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return url.slice(dist + 1);
  return url;
}

export function summarizeProfile(file: string, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>(profile.nodes.map((n) => [n.id, n]));
  const selfMs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  if (samples.length > 0 && deltas.length === samples.length) {
    // Each sample's duration is the next delta (the time until the following sample).
    for (let i = 0; i < samples.length; i += 1) {
      const id = samples[i] ?? -1;
      const ms = (deltas[i + 1] ?? 0) / 1000;
      selfMs.set(id, (selfMs.get(id) ?? 0) + ms);
    }
  } else {
    const interval = (profile.endTime - profile.startTime) / 1000 / Math.max(1, profile.nodes.reduce((s, n) => s + (n.hitCount ?? 0), 0));
    for (const node of profile.nodes) selfMs.set(node.id, (node.hitCount ?? 0) * interval);
  }
  const totalMs = [...selfMs.values()].reduce((a, b) => a + b, 0);
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  /** The package of the nearest frame at or above `id` that is neither native nor Node core. */
  const callerCache = new Map<number, string>();
  const callingPackage = (id: number): string => {
    const cached = callerCache.get(id);
    if (cached !== undefined) return cached;
    const node = byId.get(id);
    let result: string;
    if (!node) result = '(unknown)';
    else {
      const pkg = packageOf(node.callFrame);
      const isOwnerless = pkg === '(native)' || pkg === 'node: (core)' || pkg === '(program)';
      const up = parent.get(id);
      result = isOwnerless && up !== undefined ? callingPackage(up) : pkg === '(root)' ? '(native, no JS caller)' : pkg;
    }
    callerCache.set(id, result);
    return result;
  };
  const callers = new Map<string, number>();
  const functions = new Map<string, number>();
  const packages = new Map<string, number>();
  let gcMs = 0;
  let idleMs = 0;
  for (const [id, ms] of selfMs) {
    const node = byId.get(id);
    if (!node) continue;
    const frame = node.callFrame;
    if (frame.functionName === '(idle)') idleMs += ms;
    if (frame.functionName === '(garbage collector)') gcMs += ms;
    const fn = frame.url === '' ? frame.functionName : `${frame.functionName || '(anonymous)'} ${shortUrl(frame.url)}:${frame.lineNumber + 1}`;
    functions.set(fn, (functions.get(fn) ?? 0) + ms);
    const pkg = packageOf(frame);
    packages.set(pkg, (packages.get(pkg) ?? 0) + ms);
    const caller = callingPackage(id);
    callers.set(caller, (callers.get(caller) ?? 0) + ms);
  }
  const entries = (map: Map<string, number>, n: number): ProfileEntry[] =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, ms]) => ({ name, selfMs: Math.round(ms), percent: totalMs > 0 ? Math.round((ms / totalMs) * 1000) / 10 : 0 }));
  return { totalMs: Math.round(totalMs), busyMs: Math.round(totalMs - idleMs), gcMs: Math.round(gcMs), idleMs: Math.round(idleMs), topFunctions: entries(functions, top), byPackage: entries(packages, top), byCallingPackage: entries(callers, top) };
}

/** Summarises every `.cpuprofile` in `dir` and prints two tables each (by package, top functions). */
export function printProfiles(dir: string, say: (line: string) => void): Array<{ file: string; summary: ProfileSummary }> {
  const profiles = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => ({ file: join(dir, f), summary: summarizeProfile(join(dir, f)) }));
  for (const { file, summary } of profiles) {
    say(`\nCPU profile ${file}: ${summary.busyMs} ms busy of ${summary.totalMs} ms (GC ${summary.gcMs} ms)`);
    console.table(summary.byCallingPackage.map((e) => ({ 'package (native time charged to its JS caller)': e.name, 'self ms': e.selfMs, '%': e.percent })));
    console.table(summary.topFunctions.slice(0, 12).map((e) => ({ function: e.name, 'self ms': e.selfMs, '%': e.percent })));
  }
  return profiles;
}
