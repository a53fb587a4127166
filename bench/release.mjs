// Release benchmark: for N loopback TLS connections opened and closed, per allocator, RSS at
// baseline / all open / all closed / after releaseToOS(), and the stall — each trial in a
// fresh process, all in one run. Usage: npm run bench:release [-- connections]
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const connections = Number(process.argv[2] ?? 5000);
const lib = '/usr/lib/x86_64-linux-gnu/';
const trials = [
  ['glibc, GC + malloc_trim only', '', 'trim-only'],
  ['glibc, releaseToOS()', '', 'full'],
  ['jemalloc, releaseToOS()', lib + 'libjemalloc.so.2', 'full'],
  ['tcmalloc, releaseToOS()', lib + 'libtcmalloc_minimal.so.4', 'full'],
  ['mimalloc, releaseToOS()', lib + 'libmimalloc.so.2', 'full'],
];
const trial = fileURLToPath(new URL('./release-trial.cjs', import.meta.url));
const MiB = (bytes) => (bytes / 1048576).toFixed(1);
const rows = [['allocator and release', 'baseline MiB', 'open MiB', 'closed MiB', 'after release MiB', 'above baseline MiB', 'trim stall ms', 'GC ms']];
for (const [label, preload, mode] of trials) {
  const out = execFileSync(process.execPath, [trial, String(connections), mode], { env: { ...process.env, LD_PRELOAD: preload }, encoding: 'utf8' });
  const r = JSON.parse(out.trim().split('\n').pop());
  rows.push([label, MiB(r.rss.baseline), MiB(r.rss.open), MiB(r.rss.closed), MiB(r.rss.released), MiB(r.rss.released - r.rss.baseline), r.release.durationMs.toFixed(2), r.release.gc.durationMs.toFixed(1)]);
  process.stderr.write(`${label}: done\n`);
}
console.log(`Release benchmark: ${connections} loopback TLS connections opened and closed (Node ${process.version}, ${process.arch})\n`);
console.log(rows.map((row, i) => `| ${row.join(' | ')} |` + (i === 0 ? `\n|${row.map(() => '---').join('|')}|` : '')).join('\n'));
