// Release benchmark: for N loopback TLS connections opened and closed, per allocator, RSS at
// baseline / all open / all closed / after the release / 1 s later, and what the release cost
// the event loop — each trial in a fresh process, all in one run.
// Usage: npm run bench:release [-- connections [repeats]]
// With repeats > 1 each figure is the median of the repeats (CPU shared with other work moves
// stalls a lot); the stall column then also gives the range. The JS thread's scheduler figures
// (/proc/self/task/<pid>/schedstat) across the call show how much of it was spent waiting for
// a CPU other processes held.
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';

const connections = Number(process.argv[2] ?? 5000);
const repeats = Number(process.argv[3] ?? 1);
const lib = '/usr/lib/x86_64-linux-gnu/';
// What an operator can set next to LD_PRELOAD (mimalloc 2.0 reads it at start-up): free pages
// are decommitted at once instead of after a delay, by whichever thread frees them.
const MIMALLOC_PROMPT_DECOMMIT = { MIMALLOC_RESET_DELAY: '0', MIMALLOC_ABANDONED_PAGE_DECOMMIT: '1' };
const trials = [
  ['glibc, GC + malloc_trim only', '', 'trim-only'],
  ['glibc, blocking heap shrink', '', 'blocking'],
  ['glibc, releaseToOS()', '', 'full'],
  ['glibc, releaseToOS() on the JS thread', '', 'sync'],
  ['glibc, autoRelease', '', 'auto'],
  ['jemalloc, releaseToOS()', lib + 'libjemalloc.so.2', 'full'],
  ['jemalloc, autoRelease', lib + 'libjemalloc.so.2', 'auto'],
  ['jemalloc, autoRelease paced', lib + 'libjemalloc.so.2', 'auto-paced'],
  ['tcmalloc, releaseToOS()', lib + 'libtcmalloc_minimal.so.4', 'full'],
  ['tcmalloc, autoRelease', lib + 'libtcmalloc_minimal.so.4', 'auto'],
  ['tcmalloc, autoRelease paced', lib + 'libtcmalloc_minimal.so.4', 'auto-paced'],
  ['mimalloc, releaseToOS()', lib + 'libmimalloc.so.2', 'full'],
  ['mimalloc, autoRelease', lib + 'libmimalloc.so.2', 'auto'],
  ['mimalloc prompt decommit, releaseToOS()', lib + 'libmimalloc.so.2', 'full', MIMALLOC_PROMPT_DECOMMIT],
];
const TRAFFIC_LABEL = {
  requests: '4 TLS clients in another process send a 64-byte request every 2 ms each, open loop, through the release (autoRelease rows: 16 KiB mallocs)',
  malloc: 'the JS thread mallocs 16 KiB every ms',
  0: 'none',
};
const only = process.env.RELEASE_BENCH_ONLY && new RegExp(process.env.RELEASE_BENCH_ONLY); // e.g. "tcmalloc" or "^glibc, (GC|releaseToOS)" picks rows
const trial = fileURLToPath(new URL('./release-trial.cjs', import.meta.url));
const MiB = (bytes) => (bytes / 1048576).toFixed(1);
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
/** Medians over the runs of a figure of the control window and of the release's window; `added`: their paired difference. */
const windowed = (runs, pick, added = false, which = ['control', 'release']) => {
  const have = runs.filter((r) => r.windows && pick(r.windows.release) !== undefined);
  if (have.length === 0) return '—';
  const parts = which.map((w) => median(have.map((r) => pick(r.windows[w]))).toFixed(1)).join(' / ');
  return added ? `${parts} (${median(have.map((r) => pick(r.windows.release) - pick(r.windows.control))).toFixed(1)})` : parts;
};
const rows = [
  [
    'allocator and release',
    'baseline MiB',
    'closed MiB',
    'above baseline after MiB',
    '1 s later, above MiB',
    'returned MiB',
    'longest stall ms',
    'stall in GC / trim step ms',
    'longest V8 pause ms',
    'JS thread total ms',
    'JS thread on CPU / waiting for a CPU ms',
    'wall ms',
    'trim ms (slices)',
    'loop p99 without / with release ms (added)',
    'jsThread.loopDelay added p99 ms',
    'requests p99 without / with release ms',
    'load avg',
  ],
];
// RELEASE_BENCH_BEFORE_DIST: a build of the code before a change; its rows run interleaved with this one's.
const before = process.env.RELEASE_BENCH_BEFORE_DIST;
const picked = trials.filter(([label]) => !only || only.test(label));
const planned = before
  ? picked.flatMap(([label, ...rest]) => [
      [`${label}, before`, ...rest.slice(0, 2), { ...rest[2], RELEASE_BENCH_DIST: before }],
      [label, ...rest],
    ])
  : picked;
// Repeats interleaved across rows, so the machine's load drifts over all rows alike.
const runsByRow = new Map(planned.map(([label]) => [label, []]));
for (let i = 0; i < repeats; i++) {
  for (const [label, preload, mode, extraEnv = {}] of planned) {
    const runs = runsByRow.get(label);
    const out = execFileSync(process.execPath, [trial, String(connections), mode], {
      env: { ...process.env, ...extraEnv, LD_PRELOAD: preload },
      encoding: 'utf8',
    });
    const run = JSON.parse(out.trim().split('\n').pop());
    run.load = loadavg()[0];
    runs.push(run);
    const steps = run.release.jsThread.longestStallMsByStep ?? {};
    process.stderr.write(
      `${label} #${i + 1}: above ${MiB(run.rss.released - run.rss.baseline)} MiB, stall ${run.longestStallMs.toFixed(1)} ms (${Object.entries(steps)
        .map(([k, v]) => `${k} ${v.toFixed(1)}`)
        .join(', ')}), V8 pauses ${JSON.stringify(run.gcPauses ?? [])}, load ${run.load.toFixed(2)}\n`,
    );
  }
}
for (const [label] of planned) {
  const runs = runsByRow.get(label);
  const m = (pick) => median(runs.map(pick));
  const stalls = runs.map((r) => r.longestStallMs);
  const stall = m((r) => r.longestStallMs).toFixed(1) + (repeats > 1 ? ` (${Math.min(...stalls).toFixed(1)}–${Math.max(...stalls).toFixed(1)})` : '');
  const slices = runs[0].release.slices;
  const step = (name) => m((r) => r.release.jsThread.longestStallMsByStep?.[name] ?? 0).toFixed(1);
  rows.push([
    label,
    MiB(m((r) => r.rss.baseline)),
    MiB(m((r) => r.rss.closed)),
    MiB(m((r) => r.rss.released - r.rss.baseline)),
    MiB(m((r) => r.rss.later - r.rss.baseline)),
    MiB(m((r) => r.release.releasedBytes)),
    stall,
    `${step('gc')} / ${step('trim')}`,
    m((r) => r.release.jsThread.longestGcPauseMs ?? 0).toFixed(1),
    m((r) => r.release.jsThread.totalMs).toFixed(1),
    runs[0].jsThreadSched ? `${m((r) => r.jsThreadSched.onCpuMs).toFixed(0)} / ${m((r) => r.jsThreadSched.runQueueWaitMs).toFixed(0)}` : '—',
    m((r) => r.release.wallMs ?? 0).toFixed(0),
    m((r) => r.release.durationMs).toFixed(1) + (slices === undefined ? '' : ` (${slices})`),
    windowed(runs, (w) => w.timeWeightedP99Ms, true),
    runs.every((r) => r.release.jsThread.loopDelay) ? m((r) => r.release.jsThread.loopDelay.addedP99Ms).toFixed(1) : '—',
    windowed(runs, (w) => w.requests?.p99Ms),
    runs.map((r) => r.load.toFixed(1)).join(', '),
  ]);
}
console.log(
  `Release benchmark: ${connections} loopback TLS connections opened and closed ` +
    `(Node ${process.version}, ${process.arch}${repeats > 1 ? `, median of ${repeats} fresh processes per row` : ''}; ` +
    `traffic: ${TRAFFIC_LABEL[process.env.RELEASE_BENCH_TRAFFIC ?? 'requests']}; ` +
    `prompt decommit: ${JSON.stringify(MIMALLOC_PROMPT_DECOMMIT)})\n`,
);
console.log(rows.map((row, i) => `| ${row.join(' | ')} |` + (i === 0 ? `\n|${row.map(() => '---').join('|')}|` : '')).join('\n'));
