/**
 * `node -r sockprobe/register app.js` (or `--import sockprobe/register`): starts a probe from
 * environment variables, no code change.
 *   SOCKPROBE_INTERVAL_MS      sampling interval in ms, a whole number from 10 (default 1000)
 *   SOCKPROBE_AUTO_RELEASE=1   give memory back when a connection spike ends (1/true/yes/on, 0/false/no/off;
 *                              paced: at 64 MiB/s, paced:<MiB/s>: at that budget, like Go's scavenger)
 *   SOCKPROBE_OPENSSL=1        track OpenSSL allocations (where capabilities() allows)
 *   SOCKPROBE_NATIVE_HEAP=1    profile the native heap by call site (nativeHeapProfile; where capabilities() allows);
 *                              or =<bytes> (64k, 1MiB, 65536: from 1k to 1024m): the mean bytes between samples — finer
 *                              is more precise (a holder's error is 1/√samples) and costs more; default 512 KiB
 *   SOCKPROBE_NATIVE_HEAP_INTERVAL_MS  how often the probe takes a profile, from 1000 (default 60 000)
 *   SOCKPROBE_REPORT=stderr|PATH  where `kill -USR2 <pid>` writes the report (default stderr); a PATH
 *                              is one file per process: `{pid}` in it is replaced by the pid, else the
 *                              pid goes before the extension (report.html → report.<pid>.html)
 *                              A PATH ending in .json gets the report as JSON (the report, the samples' RSS
 *                              and loop delay, autoRelease's records, the release below), no header line
 *   SOCKPROBE_RELEASE_ON_REPORT=1  each SIGUSR2 runs releaseToOS() before the report and puts its result in
 *                              it (what `sockprobe allocators --run` uses to measure a release from outside)
 *   SOCKPROBE_WORKERS=1        worker threads (which Node starts with the same -r/--import) start a
 *                              probe of their own too; default: the main thread's probe only
 * A value that cannot be read is named on stderr with what was expected; the probe then
 * starts with that setting's default. The running probe: `import { probe } from
 * 'sockprobe/register'` or `require('sockprobe/register').probe`. In a worker thread without
 * SOCKPROBE_WORKERS it is a dormant probe: nothing runs until that thread calls probe.start().
 */
import cluster from 'node:cluster';
import { isMainThread } from 'node:worker_threads';
import { releaseToOS } from './memory/release';
import { nativeLoadProblem } from './native';
import { createProbe, type Probe } from './probe/probe';
import { jsonReportText, reportHeader, reportPath, writeWhole, type ProcessRole, type ReportRelease } from './register-report';
import { reportSteps } from './probe/report-steps';
import { renderReport } from './probe/report';
import { reportCostLine, SliceMeter } from './register-slices';
import { releaseOnReportFromEnvironment, settingsFromEnvironment, workersFromEnvironment } from './register-settings';

const say = (line: string) => process.stderr.write(`sockprobe/register: ${line}\n`);

function role(): ProcessRole {
  const { worker, isPrimary, workers } = cluster;
  if (worker) return { pid: process.pid, role: `cluster worker ${worker.id}, primary pid ${process.ppid}` };
  if (isPrimary && workers && Object.keys(workers).length > 0) return { pid: process.pid, role: 'cluster primary' };
  return { pid: process.pid, role: null };
}

function writeReport(target: string, text: string, json: boolean): void {
  const whole = json ? text : `${reportHeader(role(), Date.now())}\n${text}`;
  if (target === 'stderr') {
    process.stderr.write(whole);
    return;
  }
  const file = reportPath(target, process.pid);
  writeWhole(file, whole, (error) => {
    if (error) say(`cannot write the report to ${file} (SOCKPROBE_REPORT=${target}): ${error.message}`);
  });
}

/** A probe made on first use: what a worker thread gets unless SOCKPROBE_WORKERS asks for more. */
function dormant(make: () => Probe): Probe {
  let made: Probe | undefined;
  const real = () => (made ??= make());
  return {
    start: () => real().start(),
    stop: () => made?.stop(),
    sample: () => real().sample(),
    samples: () => made?.samples() ?? [],
    report: () => real().report(),
    renderReport: () => real().renderReport(),
    releases: () => made?.releases() ?? [],
    containerEvents: () => made?.containerEvents() ?? [],
    ownMemoryBytes: () => made?.ownMemoryBytes() ?? 0,
    profileNativeHeap: () => real().profileNativeHeap(),
    get running() {
      return made?.running ?? false;
    },
  };
}

function fromEnvironment(env: NodeJS.ProcessEnv): Probe {
  const options = settingsFromEnvironment(env, say);
  if (!isMainThread && !workersFromEnvironment(env, say)) return dormant(() => createProbe(options));
  // Preloaded with -r/--import, a throw here would stop the service from starting: say why
  // instead, and leave a probe whose start() throws the coded error when someone asks for it.
  const missing = nativeLoadProblem();
  if (missing) {
    say(`no probe started: ${missing}`);
    return dormant(() => createProbe(options));
  }
  const probe = createProbe(options);
  // Node delivers signals to the main thread only: in a worker this listener never fires, and
  // that worker's probe reports through its own `probe`.
  const target = env.SOCKPROBE_REPORT || 'stderr';
  const json = target.toLowerCase().endsWith('.json');
  const releaseFirst = releaseOnReportFromEnvironment(env, say);
  let reporting = false;
  const report = async () => {
    let release: ReportRelease | null = null;
    if (releaseFirst) {
      // releaseToOS() runs its trim on the threadpool and meters its own stalls; one at a time.
      release = await releaseToOS().then(
        (result) => ({ result, error: null }),
        (error: Error) => ({ result: null, error: error.message }),
      );
      await probe.sample().catch(() => undefined);
    }
    // A part a turn (setImmediate between), each timed: the report says what it held the JS thread.
    const meter = new SliceMeter();
    const samples = probe.samples();
    const built = await meter.steps(reportSteps(probe));
    const text = json
      ? await jsonReportText(role(), Date.now(), built, samples, release, meter)
      : `${meter.slice('text of the report', () => renderReport(built))}\n\n${reportCostLine(meter.total())}\n`;
    writeReport(target, text, json);
  };
  process.on('SIGUSR2', () => {
    if (reporting) return say('a report is being written; this SIGUSR2 is ignored');
    reporting = true;
    report()
      .catch((error: Error) => say(`cannot make the report: ${error.message}`))
      .finally(() => (reporting = false));
  });
  return probe.start();
}

/** The probe this module started (a dormant one in a worker thread, unless SOCKPROBE_WORKERS=1). */
export const probe: Probe = fromEnvironment(process.env);
