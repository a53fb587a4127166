import type { PulseResult } from '../experiments/pulse';
import { LAYERS } from '../probe/layers';
import { renderRelease } from '../probe/report';
import { kib, mib, table } from './format';
import { plusMinus } from '../native-heap/sampling-error';
import { renderHoldersText, renderNativeHeapText } from './pulse-native-heap';

/** The end-of-run summary a person reads: per-connection cost, retention, release, findings. */
export function renderPulseText(result: PulseResult): string {
  const { report, rss, release, options } = result;
  const kind = options.kind;
  const out: string[] = [];
  const holders = renderHoldersText(result);
  if (holders.lines.length) out.push(...holders.lines, '');
  const estimates = report.perConnection.filter((e) => e.kind === kind);
  out.push(
    table([
      [`per ${kind.toUpperCase()} connection`, 'bytes', 'R²'],
      ...estimates.map((e) => [
        LAYERS[e.layer].label,
        e.bytesPerConnection === null ? 'declined' : kib(e.bytesPerConnection),
        e.quality === null ? '' : e.quality.toFixed(2),
      ]),
    ]),
  );
  // Reasons and notes below the table: a sentence in a cell would widen every row.
  for (const e of estimates) if (e.declined) out.push(`  ${LAYERS[e.layer].label} declined: ${e.declined}`);
  for (const e of estimates) if (e.note) out.push(`  note: ${e.note}`);
  const categories = (report.nativeHeap?.perConnection ?? []).filter((e) => e.kind === kind && e.bytesPerConnection !== null);
  const heapLines = [
    ...renderNativeHeapText(result.nativeHeap, kind),
    ...(categories.length
      ? [
          `  fitted on every profile (R²): ` +
            categories
              .map((e) => {
                const error = e.relativeError == null ? '' : ` ${plusMinus(e.relativeError)}`;
                return `${e.category} ${kib(e.bytesPerConnection)}${error} (${e.quality!.toFixed(2)})`;
              })
              .join(', '),
        ]
      : []),
  ];
  if (heapLines.length) out.push('', ...heapLines);
  out.push('');
  out.push(
    table([
      ['RSS', 'bytes', 'vs baseline'],
      ['baseline', mib(rss.baseline), ''],
      ['peak', mib(rss.peak), mib(rss.peak - rss.baseline)],
      ['after the pulses', mib(rss.afterPulses), mib(rss.afterPulses - rss.baseline)],
      ['after releaseToOS()', mib(rss.afterRelease), rss.afterRelease === null ? '' : mib(rss.afterRelease - rss.baseline)],
    ]),
  );
  const c = result.container;
  if (c)
    out.push(
      c.limitBytes === null
        ? `Memory limit: none — ${c.reason ?? 'no limit set'}.`
        : `Memory limit: ${mib(c.limitBytes)} (${c.limitSource ?? 'containerMemory()'})` +
            (c.workingSetBytes === null
              ? ''
              : `; working set at the end ${mib(c.workingSetBytes)} = ${((100 * c.workingSetBytes) / c.limitBytes).toFixed(1)}% of it`) +
            '.',
    );
  out.push('');
  const retention = report.retention;
  if (retention) {
    const { jsHeap, nativeFree, other } = retention.split;
    out.push(
      `Retained after the spike (resident): ${mib(retention.retainedBytes)} = V8 heap ${mib(jsHeap)} ` +
        `+ free native ${nativeFree === null ? 'unknown' : mib(nativeFree)} + other ${mib(other)}.`,
    );
    if (release)
      out.push(
        `  then releaseToOS() gave ` +
          `back ${release.gc ? `${mib(release.gc.releasedBytes)} in its heap-shrinking GC and ` : ''}${mib(release.trimReleasedBytes)} in the trim.`,
      );
  }
  if (release) {
    out.push(
      `releaseToOS(): ${release.method} gave back ${mib(release.releasedBytes)} ` +
        `(${mib(release.trimReleasedBytes)} by the trim itself) in ${release.durationMs.toFixed(2)} ms ` +
        `on ${release.onThreadpool ? 'the threadpool' : 'the JS thread'}, after ` +
        `a ${release.gc?.durationMs.toFixed(1)} ms heap-shrinking GC on the JS thread.`,
    );
  }
  for (const auto of result.autoReleases) out.push(`autoRelease: ${renderRelease(auto)}`);
  out.push(`${result.connectionsPerSecond.toFixed(0)} ${kind === 'tls' ? 'handshakes' : 'connections'} per second during the big pulses.`);
  out.push('');
  const findings = report.findings.filter((f) => f.kind !== 'holder');
  out.push(findings.length ? 'Findings:' : 'Findings: none.');
  for (const f of findings) out.push(`  [${f.severity}] ${f.kind} (${f.layer}): ${f.summary}\n      → ${f.advice}`);
  if (holders.detail.length) out.push('', ...holders.detail);
  return out.join('\n');
}
