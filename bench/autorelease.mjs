// autoRelease benchmark: a 5000-connection TLS spike against the embedded server, the probe
// sampling every 250 ms with autoRelease on (and off, in a fresh process, side by side).
// Reports how long after the spike ended RSS came back within 1.3x of the pre-spike baseline.
// Usage: npm run bench:autorelease [-- connections]
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';

const connections = Number(process.argv[2] ?? 5000);
const trial = fileURLToPath(new URL('./autorelease-trial.cjs', import.meta.url));
const rows = [
  [
    'autoRelease',
    'baseline MiB',
    'peak MiB',
    '10 s after the spike MiB',
    'ratio to baseline',
    'back within 1.3x after',
    'releases',
    'longest stall of a release ms',
    'JS thread total ms',
  ],
];
for (const auto of ['on', 'off']) {
  const out = execFileSync(process.execPath, [trial, String(connections), auto], { encoding: 'utf8', env: { ...process.env, LD_PRELOAD: '' } });
  const r = JSON.parse(out.trim().split('\n').pop());
  rows.push([
    auto,
    (r.baseline / 1048576).toFixed(1),
    (r.peak / 1048576).toFixed(1),
    (r.after10s / 1048576).toFixed(1),
    (r.after10s / r.baseline).toFixed(2),
    r.backWithinMs === null ? 'not within 10 s' : `${(r.backWithinMs / 1000).toFixed(1)} s`,
    String(r.releases),
    r.releases ? r.longestStallMs.toFixed(1) : '—',
    r.releases ? r.jsThreadMs.toFixed(1) : '—',
  ]);
}
console.log(
  `autoRelease: ${connections} loopback TLS connections opened, held 2 s and closed ` +
    `(Node ${process.version}; load average ${loadavg()[0].toFixed(1)} at the end)\n`,
);
console.log(rows.map((row, i) => `| ${row.join(' | ')} |` + (i === 0 ? `\n|${row.map(() => '---').join('|')}|` : '')).join('\n'));
