// One trial in a fresh process: N TLS connections opened and closed, then a release, with a
// 1 ms event-loop delay monitor in this same process across it (the stall a request sees).
//   trim-only  GC + trim without shrinking V8's heap      blocking  shrinkHeap: 'blocking' (LowMemoryNotification)
//   full       releaseToOS() with its defaults            auto      the probe's autoRelease, sampling every 250 ms
//   auto-paced autoRelease with { pace: true } (64 MiB/s)
const { readFileSync } = require('node:fs');
const { monitorEventLoopDelay, PerformanceObserver, performance } = require('node:perf_hooks');
const { setTimeout: sleep } = require('node:timers/promises');
const { runSpike } = require('../dist/cjs/experiments/spike');
const { releaseToOS } = require('../dist/cjs/memory/release');
const { rssBytes } = require('../dist/cjs/memory/proc');
const { createProbe } = require('../dist/cjs/probe/probe');

const [connections, mode] = [Number(process.argv[2]), process.argv[3]];
// A service keeps serving while it releases: unless RELEASE_BENCH_TRAFFIC=0, from the spike's
// end the JS thread mallocs a 16 KiB block every ms (what a socket read does; below
// glibc's mmap threshold, so from the JS thread's arena). An idle JS thread never waits on an
// allocator lock; this one does whenever a trim or purge holds it.
const TRAFFIC = process.env.RELEASE_BENCH_TRAFFIC !== '0';
let traffic = null;
const startTraffic = () => {
  if (!TRAFFIC) return;
  traffic = setInterval(() => {
    Buffer.allocUnsafeSlow(16384).fill(1);
  }, 1);
};
const OPTIONS = { 'trim-only': { shrinkHeap: false }, full: {}, blocking: { shrinkHeap: 'blocking' } };
const monitor = monitorEventLoopDelay({ resolution: 1 });
// The JS thread's scheduler figures (ns): time on a CPU and time runnable but waiting for one.
// On a shared machine the wait says how much of a stall was other processes' doing.
const schedstat = () => {
  const [onCpu, waiting] = readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ').map(Number);
  return { onCpu, waiting };
};

async function main() {
  let probe;
  const spike = await runSpike({
    connections,
    release: false,
    onProgress: (phase) => {
      if (phase === 'baseline' && mode.startsWith('auto'))
        probe = createProbe({ intervalMs: 250, autoRelease: mode === 'auto-paced' ? { pace: true } : true }).start();
      if (phase === 'closed') startTraffic();
    },
  });
  let release;
  let longestStallMs;
  let jsThreadSched = null;
  let gcObserver;
  const gcPauses = [];
  if (mode.startsWith('auto')) {
    // The probe may release before runSpike returns, so the stall is the one the release
    // measured itself (result.jsThread: the same 1 ms monitor, across the release).
    for (let waited = 0; probe.releases().length === 0 && waited < 15_000; waited += 50) await sleep(50);
    probe.stop();
    const record = probe.releases()[0];
    if (!record?.result) throw new Error(`autoRelease did not release: ${JSON.stringify(record ?? null)}`);
    release = { ...record.result, gc: null };
    longestStallMs = record.result.jsThread.longestStallMs;
  } else {
    await sleep(100);
    // V8's own GC pauses across the release (kind: 1 minor, 4 major, 8 incremental, 16 weak callbacks).
    const releaseStart = performance.now();
    gcObserver = new PerformanceObserver((list) => {
      for (const e of list.getEntries())
        gcPauses.push({ kind: e.detail?.kind ?? e.kind, atMs: +(e.startTime - releaseStart).toFixed(1), ms: +e.duration.toFixed(1) });
    });
    gcObserver.observe({ entryTypes: ['gc'] });
    monitor.enable();
    await sleep(20); // the monitor measures between its own turns: let it take a first one
    const schedBefore = schedstat();
    release = await releaseToOS(OPTIONS[mode]);
    const schedAfter = schedstat();
    jsThreadSched = { onCpuMs: (schedAfter.onCpu - schedBefore.onCpu) / 1e6, runQueueWaitMs: (schedAfter.waiting - schedBefore.waiting) / 1e6 };
    await sleep(5);
    monitor.disable();
    longestStallMs = monitor.max / 1e6;
    gcObserver.disconnect();
  }
  if (traffic) clearInterval(traffic);
  const released = rssBytes();
  await sleep(1000);
  const later = rssBytes();
  console.log(JSON.stringify({ traffic: TRAFFIC, rss: { ...spike.rss, released, later }, longestStallMs, jsThreadSched, gcPauses, release }));
  process.exit(0);
}
main().catch((error) => {
  console.error(error);
  process.exit(1);
});
