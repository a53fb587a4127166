/**
 * Where and how sockprobe/register writes a report on SIGUSR2: one file per process (a cluster's
 * primary and each of its workers, forks, any process sharing the environment), named by its pid,
 * written whole (a temporary file renamed into place), so that no process truncates or
 * interleaves another's.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ReleaseResult } from './memory/release';
import type { Probe } from './probe/probe';
import type { ProbeReport } from './probe/report';
import type { Sample } from './probe/sample';
import type { SliceMeter } from './register-slices';

/**
 * The file for this process: `{pid}` in the path is replaced by the pid; otherwise the pid goes
 * before the name's extension (`report.html` → `report.<pid>.html`, `report` → `report.<pid>`).
 */
export function reportPath(target: string, pid: number): string {
  if (target.includes('{pid}')) return target.split('{pid}').join(String(pid));
  const dir = path.dirname(target);
  const base = path.basename(target);
  const dot = base.lastIndexOf('.');
  const named = dot > 0 ? `${base.slice(0, dot)}.${pid}${base.slice(dot)}` : `${base}.${pid}`;
  return dir === '.' && !target.startsWith('.') ? named : path.join(dir, named);
}

/** What this process is, in words an operator knows: a cluster's primary or worker, or nothing. */
export interface ProcessRole {
  pid: number;
  /** e.g. `cluster worker 3 (primary pid 1200)`, `cluster primary`; null for a plain process. */
  role: string | null;
}

/** The report's first line: whose report it is and when it was written. */
export function reportHeader({ pid, role }: ProcessRole, nowMs: number): string {
  return `sockprobe report — pid ${pid}${role ? ` (${role})` : ''}, written ${new Date(nowMs).toISOString()}`;
}

/**
 * Writes `text` to `file` whole: into a temporary file beside it (named by pid, so two processes
 * never share one), then renamed over `file`. `done` gets the error, if any (the temporary file is
 * then removed).
 */
export function writeWhole(file: string, text: string, done: (error: NodeJS.ErrnoException | null) => void): void {
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Date.now().toString(36)}.tmp`);
  fs.writeFile(temporary, text, { flag: 'wx' }, (writeError) => {
    if (writeError) {
      fs.rm(temporary, { force: true }, () => done(writeError));
      return;
    }
    fs.rename(temporary, file, (renameError) => {
      if (!renameError) return done(null);
      fs.rm(temporary, { force: true }, () => done(renameError));
    });
  });
}

/** A release run on SIGUSR2 (SOCKPROBE_RELEASE_ON_REPORT): its result, or why it failed. */
export interface ReportRelease {
  result: ReleaseResult | null;
  error: string | null;
}

const sampleRow = (s: Sample) => ({
  time: s.time,
  rss: s.rss,
  eventLoopDelayMaxMs: s.eventLoopDelayMaxMs,
  nativeAllocated: s.nativeAllocated,
  allocatorFreeRaw: s.allocatorFreeRaw,
});

/** The JSON report (SOCKPROBE_REPORT=*.json): the probe's report, each sample's RSS, loop delay and
 *  allocator counts (the probe's ring, so bounded by its capacity) and the release run for this report. */
export function jsonReport({ pid, role }: ProcessRole, nowMs: number, probe: Probe, release: ReportRelease | null) {
  return { pid, role, writtenAt: new Date(nowMs).toISOString(), report: probe.report(), samples: probe.samples().map(sampleRow), release };
}

// 3600 sample rows as JSON took 2-3 ms in one turn: 500 a turn stays well under 1 ms.
const SAMPLE_ROWS_PER_TURN = 500;

/**
 * jsonReport() as text, built in turns through `meter` (the report given already built the same
 * way), with what it cost last: `reportCost`, the longest turn and the total on the JS thread.
 */
export async function jsonReportText(
  { pid, role }: ProcessRole,
  nowMs: number,
  report: ProbeReport,
  samples: Sample[],
  release: ReportRelease | null,
  meter: SliceMeter,
): Promise<string> {
  const head = meter.slice('JSON of the report', () => JSON.stringify({ pid, role, writtenAt: new Date(nowMs).toISOString(), report }).slice(0, -1));
  const rows = await meter.jsonArray('JSON of the samples', samples, SAMPLE_ROWS_PER_TURN, sampleRow);
  return `${head},"samples":${rows},"release":${JSON.stringify(release)},"reportCost":${JSON.stringify(meter.total())}}\n`;
}
