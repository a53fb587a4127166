/**
 * One measured start of the user's service under one configuration: start it afresh (its own process
 * group, sockprobe/register preloaded, a JSON report file), wait until it is ready, run the load, idle,
 * ask it for a release and its report, stop the whole group. Figures from outside (/proc) and inside
 * (the service's own probe), each named in RunResult.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ServiceError } from '../cli/args';
import { reportPath } from '../register-report';
import type { ResolvedConfiguration } from './configurations';
import type { LoadSpec } from './load';
import { runLoad } from './load';
import { cpuMs, listeners, peakRss, statmRss } from './proc-outside';
import { stopGroup, trackGroup, untrackGroup } from './process-group';
import type { RunResult } from './run-result';
import { percentile } from './stats';

export interface ServiceRunOptions {
  command: string;
  /** The TCP port that tells readiness (a connect succeeds); null: any port the service's processes listen on. */
  readyPort: number | null;
  readyTimeoutMs: number;
  load: LoadSpec;
  idleMs: number;
  /** Where this run's report and the service's output go. */
  directory: string;
  /** The built sockprobe/register (an absolute path: the service need not have sockprobe installed). */
  register: string;
  /** How often the outside sampler reads /proc/PID/statm, and the service's probe samples. */
  intervalMs: number;
  log?: (line: string) => void;
}

interface ReportJson {
  pid: number;
  report: { versions: { allocator: string }; releases: Array<{ time: number; result: { jsThread: { longestStallMs: number } } | null }> };
  samples: Array<{ time: number; rss: number; eventLoopDelayMaxMs: number; nativeAllocated: number | null; nativeFree: number | null }>;
  release: { result: { jsThread: { longestStallMs: number }; rssAfterBytes: number } | null; error: string | null } | null;
}

const SHELL_WORDS = /[|&;<>()$`\\"'*?[\]#~=%{}\n]/;

/** NODE_OPTIONS with `-r <register>` added (quoted when the path has spaces: NODE_OPTIONS takes double quotes). */
export function withRegister(nodeOptions: string | undefined, register: string): string {
  const r = /\s/.test(register) ? `-r "${register}"` : `-r ${register}`;
  return nodeOptions ? `${nodeOptions} ${r}` : r;
}

/** The service's environment: ours, the configuration's, the register's. */
export function serviceEnvironment(base: NodeJS.ProcessEnv, resolved: ResolvedConfiguration, reportTarget: string, register: string, intervalMs: number) {
  const env: NodeJS.ProcessEnv = { ...base, ...resolved.configuration.env };
  env.LD_PRELOAD = resolved.library ?? '';
  env.NODE_OPTIONS = withRegister(base.NODE_OPTIONS, register);
  env.SOCKPROBE_REPORT = reportTarget;
  env.SOCKPROBE_RELEASE_ON_REPORT = '1';
  env.SOCKPROBE_INTERVAL_MS = String(intervalMs);
  env.SOCKPROBE_AUTO_RELEASE = resolved.configuration.release ? '1' : '0';
  return env;
}

function tail(file: string, bytes = 2000): string {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text.length > bytes ? `…${text.slice(-bytes)}` : text;
  } catch {
    return '';
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Waits until the service is ready; returns the measured process (the one that listens) and the port. */
async function waitReady(child: ChildProcess, options: ServiceRunOptions, logFile: string): Promise<{ pid: number; port: number }> {
  const deadline = Date.now() + options.readyTimeoutMs;
  const what = options.readyPort === null ? 'listened on a TCP port' : `accepted a connection on 127.0.0.1:${options.readyPort}`;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new ServiceError(
        `the service exited (${child.exitCode ?? child.signalCode}) before it ${what}: ${options.command}\n--- its output (${logFile}) ---\n${tail(logFile)}`,
      );
    }
    const listening = listeners(child.pid!);
    if (options.readyPort === null) {
      if (listening.length) return listening[0];
    } else if (await canConnect(options.readyPort)) {
      return listening.find((l) => l.port === options.readyPort) ?? { pid: child.pid!, port: options.readyPort };
    }
    await sleep(100);
  }
  throw new ServiceError(
    `the service never ${what} within ${options.readyTimeoutMs / 1000} s (--ready-timeout); it was stopped: ${options.command}\n` +
      `--- its output (${logFile}) ---\n${tail(logFile)}`,
  );
}

async function readReport(file: string, timeoutMs: number): Promise<ReportJson | null> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(100)) {
    try {
      return JSON.parse(fs.readFileSync(file, 'utf8')) as ReportJson;
    } catch {
      /* not written yet (it is renamed into place whole) */
    }
  }
  return null;
}

/** Starts the service in its own process group: directly when the command is plain words, else through sh -c. */
function startService(command: string, env: NodeJS.ProcessEnv, logFile: string): ChildProcess {
  const out = fs.openSync(logFile, 'a');
  try {
    const words = command.trim().split(/\s+/);
    const options = { env, detached: true, stdio: ['ignore', out, out] as ['ignore', number, number] };
    return SHELL_WORDS.test(command) ? spawn('/bin/sh', ['-c', command], options) : spawn(words[0], words.slice(1), options);
  } finally {
    fs.closeSync(out);
  }
}

export async function runService(resolved: ResolvedConfiguration, round: number, options: ServiceRunOptions): Promise<RunResult> {
  const name = resolved.configuration.name;
  const log = options.log ?? (() => undefined);
  const stem = `${name.replace(/[^A-Za-z0-9_.-]/g, '_')}.${round}`;
  const logFile = path.join(options.directory, `${stem}.log`);
  const target = path.join(options.directory, `${stem}.report.{pid}.json`);
  const env = serviceEnvironment(process.env, resolved, target, options.register, options.intervalMs);
  const child = startService(options.command, env, logFile);
  if (child.pid !== undefined) trackGroup(child.pid);
  const spawnError = new Promise<never>((_, reject) =>
    child.once('error', (error) => reject(new ServiceError(`cannot start the service (${options.command}): ${error.message}`))),
  );
  spawnError.catch(() => undefined);
  const started = Date.now();
  const series: Array<[number, number]> = [];
  let sampler: NodeJS.Timeout | undefined;
  try {
    const { pid, port } = await Promise.race([waitReady(child, options, logFile), spawnError]);
    const sample = () => {
      const rss = statmRss(pid);
      if (rss !== null) series.push([Date.now() - started, rss]);
      return rss;
    };
    sampler = setInterval(sample, options.intervalMs);
    await sleep(500); // the service's first samples, and its start-up garbage settled
    const beforeLoad = sample() ?? 0;
    const loadStart = Date.now();
    log(`${name} (round ${round}): pid ${pid} ready on port ${port}, load…`);
    const figures = await runLoad(options.load, port, options.directory);
    const loadEnd = Date.now();
    const afterLoad = sample() ?? 0;
    await sleep(options.idleMs);
    const settled = sample();
    const peak = peakRss(pid);
    const cpu = cpuMs(pid);
    if (settled === null || peak === null || cpu === null) throw new ServiceError(`the service (pid ${pid}) exited during the run\n${tail(logFile)}`);
    const releaseAt = Date.now();
    process.kill(pid, 'SIGUSR2');
    const report = await readReport(reportPath(target, pid), 60_000);
    const afterRelease = report ? sample() : null;
    const inLoad = (t: number) => t >= loadStart && t <= loadEnd + options.intervalMs;
    const loopDelays = report ? report.samples.filter((s) => inLoad(s.time)).map((s) => s.eventLoopDelayMaxMs) : [];
    const beforeRelease = report?.samples.filter((s) => s.time < releaseAt).at(-1) ?? null;
    const autoStalls = report ? report.report.releases.filter((r) => r.time < releaseAt && r.result).map((r) => r.result!.jsThread.longestStallMs) : [];
    if (!report) log(`${name} (round ${round}): no report from pid ${pid} within 60 s (is sockprobe/register loaded there?)`);
    return {
      configuration: name,
      round,
      servedBy: report?.report.versions.allocator ?? null,
      load: { ...figures, wallMs: loadEnd - loadStart, connections: options.load.type === 'spike' ? options.load.connections : null },
      rss: { beforeLoad, peak, afterLoad, settled, afterRelease },
      releaseStallMs: report?.release?.result?.jsThread.longestStallMs ?? null,
      autoReleaseStallMs: autoStalls.length ? Math.max(...autoStalls) : null,
      autoReleases: autoStalls.length,
      loopDelayP99Ms: loopDelays.length ? percentile(loopDelays, 99) : null,
      allocatorInUse: beforeRelease?.nativeAllocated ?? null,
      // The probe's resident free figure: glibc's own free count also holds pages its trims
      // already gave back, and read larger than RSS (472 MiB free in a 345 MiB process).
      allocatorFree: beforeRelease?.nativeFree ?? null,
      cpuMs: cpu,
      series,
      marks: { loadStart: loadStart - started, loadEnd: loadEnd - started, release: releaseAt - started },
    };
  } finally {
    if (sampler) clearInterval(sampler);
    if (child.pid !== undefined) {
      await stopGroup(child.pid);
      untrackGroup(child.pid);
    }
  }
}
