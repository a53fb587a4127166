// One trial in a fresh process: N TLS connections opened and closed, then a release, with a
// 1 ms event-loop delay monitor in this same process across it (the stall a request sees).
//   trim-only  GC + trim without shrinking V8's heap      blocking  shrinkHeap: 'blocking' (LowMemoryNotification)
//   full       releaseToOS() with its defaults            auto      the probe's autoRelease, sampling every 250 ms
//   auto-paced autoRelease with { pace: true } (64 MiB/s)          sync      onThreadpool: false (the trim on the JS thread)
const { fork } = require('node:child_process');
const { readFileSync } = require('node:fs');
const path = require('node:path');
const { monitorEventLoopDelay, PerformanceObserver, performance } = require('node:perf_hooks');
const { setTimeout: sleep } = require('node:timers/promises');
// RELEASE_BENCH_DIST: another build of sockprobe's dist/ (e.g. the code before a change), run side by side.
const DIST = process.env.RELEASE_BENCH_DIST ?? path.join(__dirname, '../dist');
const { runSpike } = require(`${DIST}/cjs/experiments/spike`);
const { releaseToOS } = require(`${DIST}/cjs/memory/release`);
const { rssBytes } = require(`${DIST}/cjs/memory/proc`);
const { createProbe } = require(`${DIST}/cjs/probe/probe`);
const { startServer } = require(`${DIST}/cjs/load/server`);
const { LoopGaps, loopWaitQuantileMs } = require(`${DIST}/cjs/memory/loop-delay`);

const [connections, mode] = [Number(process.argv[2]), process.argv[3]];
// A service keeps serving while it releases. RELEASE_BENCH_TRAFFIC picks how, from the spike's end:
//   requests (default, non-auto modes)  a TLS echo server here and clients in another process (bench/release-traffic-client.cjs)
//             sending 64-byte requests open-loop through the release; their round trips are the clients' view;
//   malloc    the JS thread mallocs a 16 KiB block every ms (what a socket read does; below glibc's mmap
//             threshold, so from the JS thread's arena); the auto modes always use this;
//   0         no traffic.
// An idle JS thread never waits on an allocator lock; a serving one does whenever a trim or purge holds it.
const TRAFFIC_KIND = process.env.RELEASE_BENCH_TRAFFIC ?? 'requests';
const TRAFFIC = TRAFFIC_KIND !== '0';
/** The window without a release the release's window is compared with, right before the release. */
const CONTROL_MS = 600;
let traffic = null;
const startTraffic = () => {
  if (!TRAFFIC || (TRAFFIC_KIND === 'requests' && !mode.startsWith('auto'))) return;
  traffic = setInterval(() => {
    Buffer.allocUnsafeSlow(16384).fill(1);
  }, 1);
};
/** Starts the echo server and the request clients; resolves with a function asking the clients for a window's round trips. */
async function startRequests() {
  const server = await startServer({ kind: 'tls', echo: true });
  const child = fork(path.join(__dirname, 'release-traffic-client.cjs'), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, LD_PRELOAD: '' },
  });
  const reply = (op) =>
    new Promise((resolve) =>
      child.on('message', function on(message) {
        if (message.op !== op) return;
        child.off('message', on);
        resolve(message);
      }),
    );
  const started = reply('started');
  child.send({ op: 'start', port: server.port });
  await started;
  return {
    window: (from, to) => {
      const answer = reply('window');
      child.send({ op: 'window', from, to });
      return answer;
    },
    stop: async () => {
      child.disconnect();
      await server.close();
    },
  };
}
const epochMs = (perfMs) => performance.timeOrigin + perfMs;
const OPTIONS = { 'trim-only': { shrinkHeap: false }, full: {}, blocking: { shrinkHeap: 'blocking' }, sync: { onThreadpool: false } };
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
  let windows = null;
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
    const requests = TRAFFIC_KIND === 'requests' ? await startRequests() : null;
    if (requests) await sleep(300); // the clients' connections settle
    // A 1 ms timer's gaps (the delay a request arriving at a random moment saw), over a control
    // window without a release and then the release's own window.
    const gaps = new LoopGaps();
    let lastTurn = performance.now();
    const gapTimer = setInterval(() => {
      const at = performance.now();
      gaps.add(at, at - lastTurn);
      lastTurn = at;
    }, 1);
    const controlFrom = performance.now();
    await sleep(CONTROL_MS);
    const controlTo = performance.now();
    // RELEASE_BENCH_PRE_WAIT_MS: a quiet wait before the call, to tell a build's own waiting from its release.
    if (process.env.RELEASE_BENCH_PRE_WAIT_MS) await sleep(Number(process.env.RELEASE_BENCH_PRE_WAIT_MS));
    // V8's own GC pauses across the release (kind: 1 minor, 4 major, 8 incremental, 16 weak callbacks).
    const releaseStart = performance.now();
    gcObserver = new PerformanceObserver((list) => {
      for (const e of list.getEntries())
        gcPauses.push({ kind: e.detail?.kind ?? e.kind, atMs: +(e.startTime - releaseStart).toFixed(1), ms: +e.duration.toFixed(1) });
    });
    gcObserver.observe({ entryTypes: ['gc'] });
    monitor.enable();
    const schedBefore = schedstat();
    release = await releaseToOS(OPTIONS[mode]);
    const schedAfter = schedstat();
    const releaseEnd = performance.now();
    jsThreadSched = { onCpuMs: (schedAfter.onCpu - schedBefore.onCpu) / 1e6, runQueueWaitMs: (schedAfter.waiting - schedBefore.waiting) / 1e6 };
    await sleep(5);
    monitor.disable();
    clearInterval(gapTimer);
    longestStallMs = monitor.max / 1e6;
    gcObserver.disconnect();
    const view = async (from, to) => ({
      windowMs: to - from,
      timeWeightedP99Ms: loopWaitQuantileMs(gaps, from, to, 0.99),
      longestGapMs: gaps.longestMs(from, to),
      requests: requests ? await requests.window(epochMs(from), epochMs(to)) : null,
    });
    // The release's own span (wallMs, to its result): a build that first watches the loop for a
    // baseline would otherwise get a longer, diluted window than one that does not.
    windows = { control: await view(controlFrom, controlTo), release: await view(releaseEnd - release.wallMs, releaseEnd) };
    if (requests) await requests.stop();
  }
  if (traffic) clearInterval(traffic);
  const released = rssBytes();
  await sleep(1000);
  const later = rssBytes();
  console.log(JSON.stringify({ traffic: TRAFFIC_KIND, windows, rss: { ...spike.rss, released, later }, longestStallMs, jsThreadSched, gcPauses, release }));
  process.exit(0);
}
main().catch((error) => {
  console.error(error);
  process.exit(1);
});
