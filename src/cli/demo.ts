import { allocator } from '../memory/detect';
import { allocatorStats, type AllocatorStats } from '../memory/stats';
import { runSpike } from '../experiments/spike';
import { kib, mib, table } from './format';

export interface DemoOptions {
  connections: number;
  kind: 'tls' | 'tcp';
}

const statsRow = (label: string, stats: AllocatorStats) => [
  label,
  mib(stats.allocatedBytes),
  mib(stats.freeBytes),
  mib(stats.residentBytes),
  mib(stats.mappedBytes),
];

/**
 * The first thing to run: a spike of loopback TLS connections against an embedded server,
 * the allocator's figures before and after, and what releaseToOS() gave back.
 */
export async function runDemo(options: DemoOptions, out: (line: string) => void): Promise<void> {
  const who = allocator();
  out(`sockprobe demo: ${who.name} ${who.version ?? ''} serves malloc (${who.library})`);
  out(`Opening and closing ${options.connections} loopback ${options.kind.toUpperCase()} connections (clients in a child process)…`);
  const before = allocatorStats();
  const result = await runSpike({
    connections: options.connections,
    kind: options.kind,
    onProgress: (phase, detail) => out(`  ${phase.padEnd(9)} RSS ${mib(detail.rss)}${detail.connections ? `, ${detail.connections} connections open` : ''}`),
  });
  const release = result.release!;
  out('');
  out(
    table([
      ['allocator figures', 'allocated', 'free', 'resident', 'mapped'],
      statsRow('at start', before),
      statsRow('spike closed, before release', release.before),
      statsRow('after releaseToOS()', release.after),
    ]),
  );
  out('');
  out(
    table([
      ['RSS', 'bytes', 'vs baseline'],
      ['baseline', mib(result.rss.baseline), ''],
      [`${options.connections} open`, mib(result.rss.open), mib(result.rss.open - result.rss.baseline)],
      ['all closed (after GC)', mib(result.rss.closed), mib(result.rss.closed - result.rss.baseline)],
      ['after releaseToOS()', mib(release.rssAfterBytes), mib(release.rssAfterBytes - result.rss.baseline)],
    ]),
  );
  out('');
  out(
    `releaseToOS(): ${release.method} returned ${mib(release.releasedBytes)} to the OS ` +
      `(${mib(release.trimReleasedBytes)} by the trim itself, the rest by a heap-shrinking GC ` +
      `of ${release.gc?.durationMs.toFixed(1)} ms).`,
  );
  out(
    `The trim took ${release.durationMs.toFixed(2)} ms ` +
      `on ${release.onThreadpool ? 'the threadpool' : 'the JS thread'}; while it runs, other threads' ` +
      `mallocs wait on the arena it holds.`,
  );
  out(`Per connection while open: ${kib((result.rss.open - result.rss.baseline) / options.connections)} of RSS.`);
}
