import type { PulseResult } from '../experiments/pulse';
import { LAYERS } from '../probe/layers';
import { mib, table } from './format';

/** The end-of-run summary a person reads: per-connection cost, retention, release, findings. */
export function renderPulseText(result: PulseResult): string {
  const { report, rss, release, options } = result;
  const kind = options.kind;
  const out: string[] = [];
  out.push(table([
    [`per ${kind.toUpperCase()} connection`, 'bytes', 'R²'],
    ...report.perConnection
      .filter((e) => e.kind === kind)
      .map((e) => [LAYERS[e.layer].label, e.bytesPerConnection === null ? `— (${e.declined})` : `${(e.bytesPerConnection / 1024).toFixed(1)} KiB`, e.quality === null ? '' : e.quality.toFixed(2)]),
  ]));
  out.push('');
  out.push(table([
    ['RSS', 'bytes', 'vs baseline'],
    ['baseline', mib(rss.baseline), ''],
    ['peak', mib(rss.peak), mib(rss.peak - rss.baseline)],
    ['after the pulses', mib(rss.afterPulses), mib(rss.afterPulses - rss.baseline)],
    ['after releaseToOS()', mib(rss.afterRelease), rss.afterRelease === null ? '' : mib(rss.afterRelease - rss.baseline)],
  ]));
  out.push('');
  if (release) {
    out.push(`releaseToOS(): ${release.method} gave back ${mib(release.releasedBytes)} (${mib(release.trimReleasedBytes)} by the trim itself) in ${release.durationMs.toFixed(2)} ms on ${release.onThreadpool ? 'the threadpool' : 'the JS thread'}, after a ${release.gc?.durationMs.toFixed(1)} ms heap-shrinking GC on the JS thread.`);
  }
  for (const auto of result.autoReleases) {
    out.push(`autoRelease: ${auto.reason} → ${auto.result ? `${mib(auto.result.releasedBytes)} back in ${auto.result.durationMs.toFixed(2)} ms` : auto.error}`);
  }
  out.push(`${result.connectionsPerSecond.toFixed(0)} ${kind === 'tls' ? 'handshakes' : 'connections'} per second during the big pulses.`);
  out.push('');
  out.push(report.findings.length ? 'Findings:' : 'Findings: none.');
  for (const f of report.findings) out.push(`  [${f.severity}] ${f.kind} (${f.layer}): ${f.summary}\n      → ${f.advice}`);
  return out.join('\n');
}
