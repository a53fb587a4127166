// glibc tunables against what releaseToOS() costs the JS thread with request traffic: each round runs
// bench/release-trial.cjs (5000 TLS connections opened and closed, then releaseToOS() under 4 TLS clients'
// requests) once per configuration, in a fresh process, the order rotated per round; figures paired by
// round against the first configuration, with a distribution-free ~95% interval of the median difference.
// Usage: node bench/release-tunables.mjs [rounds [connections]]   (after npm run build:ts; the line is `node`'s)
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const { median, medianInterval } = createRequire(import.meta.url)('../dist/cjs/allocators/stats');
const rounds = Number(process.argv[2] ?? 6);
const connections = Number(process.argv[3] ?? 5000);
const trial = fileURLToPath(new URL('./release-trial.cjs', import.meta.url));
// RELEASE_TUNABLES: ';'-separated GLIBC_TUNABLES values to compare, the first the reference ('' = glibc's defaults).
const configs = (process.env.RELEASE_TUNABLES ?? ';glibc.malloc.tcache_count=1024;glibc.malloc.tcache_count=65535').split(';');
const MiB = (bytes) => bytes / 1048576;
const figures = (run) => ({
  addedP99Ms: run.release.jsThread.loopDelay.addedP99Ms,
  loopP99Ms: run.windows.release.timeWeightedP99Ms,
  loopAddedMs: run.windows.release.timeWeightedP99Ms - run.windows.control.timeWeightedP99Ms,
  requestsP99Ms: run.windows.release.requests?.p99Ms ?? Number.NaN,
  trimStallMs: run.release.jsThread.longestStallMsByStep?.trim ?? Number.NaN,
  trimMs: run.release.durationMs,
  baselineMiB: MiB(run.rss.baseline),
  aboveBaselineMiB: MiB(run.rss.released - run.rss.baseline),
  laterAboveMiB: MiB(run.rss.later - run.rss.baseline),
  closedMiB: MiB(run.rss.closed),
  load: run.load,
});
const results = configs.map(() => []);
for (let round = 0; round < rounds; round++) {
  for (let k = 0; k < configs.length; k++) {
    const c = (k + round) % configs.length;
    const out = execFileSync(process.execPath, [trial, String(connections), 'full'], {
      env: { ...process.env, GLIBC_TUNABLES: configs[c], LD_PRELOAD: '' },
      encoding: 'utf8',
    });
    const run = JSON.parse(out.trim().split('\n').pop());
    run.load = loadavg()[0];
    results[c][round] = figures(run);
    process.stderr.write(
      `round ${round + 1} [${configs[c] || 'defaults'}] ${JSON.stringify(results[c][round], (_, v) => (typeof v === 'number' ? +v.toFixed(1) : v))}\n`,
    );
  }
}
const keys = Object.keys(results[0][0]);
const fmt = (v) => (Number.isFinite(v) ? v.toFixed(1) : '—');
const loads = results.flat().map((r) => r.load);
console.log(`Node ${process.version}, ${connections} connections, ${rounds} rounds, load ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}`);
console.log(`| GLIBC_TUNABLES | ${keys.filter((key) => key !== 'load').join(' | ')} |`);
console.log(
  `|---|${keys
    .filter((key) => key !== 'load')
    .map(() => '---')
    .join('|')}|`,
);
configs.forEach((config, c) => {
  const cells = keys
    .filter((key) => key !== 'load')
    .map((key) => {
      const m = median(results[c].map((r) => r[key]));
      if (c === 0) return fmt(m);
      const diffs = results[c].map((r, round) => r[key] - results[0][round][key]).filter(Number.isFinite);
      const interval = medianInterval(diffs);
      return `${fmt(m)} (${median(diffs) >= 0 ? '+' : ''}${fmt(median(diffs))}${interval ? ` [${fmt(interval[0])}, ${fmt(interval[1])}]` : ''})`;
    });
  console.log(`| ${config || 'defaults'} | ${cells.join(' | ')} |`);
});
