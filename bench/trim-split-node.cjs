// Real Node: a 5000-connection TLS spike, then malloc_trim(0) on the JS thread (no GC step), with the
// process's user/system CPU across it and glibc's own free-chunk counts before and after.
// Usage (after npm run build:ts): node --expose-gc bench/trim-split-node.cjs   (any line's node; GLIBC_TUNABLES as wanted)
const DIST = require('node:path').join(__dirname, '../dist');
const { runSpike } = require(`${DIST}/cjs/experiments/spike`);
const { releaseToOS } = require(`${DIST}/cjs/memory/release`);
const { readFileSync } = require('node:fs');
const sched = () => readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ').map(Number);
(async () => {
  await runSpike({ connections: 5000, release: false });
  global.gc?.();
  await new Promise((r) => setTimeout(r, 300));
  const u0 = process.resourceUsage();
  const s0 = sched();
  const r = await releaseToOS({ gc: false, shrinkHeap: false, onThreadpool: false });
  const u1 = process.resourceUsage();
  const s1 = sched();
  const again = await releaseToOS({ gc: false, shrinkHeap: false, onThreadpool: false });
  const raw = r.before.raw;
  console.log(
    JSON.stringify({
      node: process.version,
      trimMs: +r.durationMs.toFixed(1),
      trimCpuMs: +r.cpuMs.toFixed(1),
      userMs: (u1.userCPUTime - u0.userCPUTime) / 1000,
      systemMs: (u1.systemCPUTime - u0.systemCPUTime) / 1000,
      jsThreadOnCpuMs: (s1[0] - s0[0]) / 1e6,
      jsThreadRunqWaitMs: (s1[1] - s0[1]) / 1e6,
      trimReleasedMiB: +(r.trimReleasedBytes / 1048576).toFixed(1),
      secondTrimMs: +again.durationMs.toFixed(1),
      secondTrimCpuMs: +again.cpuMs.toFixed(1),
      secondReleasedMiB: +(again.trimReleasedBytes / 1048576).toFixed(1),
      freeChunksBefore: raw.ordblks,
      fastbinChunksBefore: raw.smblks,
      fastbinBytes: raw.fsmblks,
      freeMiBBefore: +(raw.fordblks / 1048576).toFixed(1),
    }),
  );
  process.exit(0);
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
