/** The memory cgroup section of `sockprobe snapshot`: the kill line, the working set against it, and who holds the usage. */
import type { ContainerMemory } from '../container/interpret';
import type { ContainerLedger, LedgerLine } from '../container/reconcile';
import { mib, table } from './format';

const share = (part: number | null, whole: number | null) => (part === null || whole === null || whole <= 0 ? '' : `${((part / whole) * 100).toFixed(1)}%`);

/** The group's figures, each with its file; the ledger's lines when one could be made, else why not. */
export function renderContainer(container: ContainerMemory, ledger: ContainerLedger | null, ledgerFailure: string | null): string[] {
  if (container.version === null) return [`memory cgroup: none readable — ${container.missing.version}`];
  const lines = [`memory cgroup (v${container.version}) ${container.path}`];
  const limit = container.limitBytes === null ? `none (${container.missing.limitBytes})` : `${mib(container.limitBytes)} (${container.sources.limitBytes})`;
  lines.push(`  limit ${limit}`);
  if (container.highBytes !== null) lines.push(`  memory.high ${mib(container.highBytes)}`);
  lines.push(
    `  usage ${mib(container.usageBytes)}; working ` +
      `set ${mib(container.workingSetBytes)}` +
      (container.limitBytes !== null ? ` = ${share(container.workingSetBytes, container.limitBytes)} of the limit (the kernel OOM-kills at 100%)` : ''),
  );
  const events = Object.entries(container.events)
    .filter(([, v]) => v !== null)
    .map(([k, v]) => `${k} ${v}`);
  if (events.length) lines.push(`  events: ${events.join(', ')}`);
  if (container.pressure) lines.push(`  pressure: some ${container.pressure.some.avg10}% full ${container.pressure.full?.avg10 ?? '?'}% (avg10)`);
  if (!ledger) {
    lines.push(`  ledger: ${ledgerFailure}`);
    return lines;
  }
  const p = ledger.process;
  const layered = [p.jsHeap, p.external, p.nativeInUse, p.nativeFree].some((l) => l.bytes !== null);
  const row = (label: string, l: LedgerLine): string[] => [label, l.bytes === null ? 'n/a' : mib(l.bytes), share(l.bytes, ledger.usageBytes), l.source];
  const rows: string[][] = [['holder', 'bytes', 'of usage', 'source']];
  if (layered) {
    rows.push(
      row(`process ${p.pid}: V8 heap`, p.jsHeap),
      row('  Buffers (external)', p.external),
      row('  native in use', p.nativeInUse),
      row('  native free (resident)', p.nativeFree),
      row('  stacks, code, other', p.stacksAndOther),
    );
  } else {
    rows.push(row(`process ${p.pid} (RssAnon)`, p.anon));
  }
  rows.push(
    row('socket buffers charged', ledger.sockets.charged),
    row('page cache, active', ledger.pageCache.active),
    row('page cache, inactive', ledger.pageCache.inactive),
    row('page cache, other', ledger.pageCache.other),
    row('kernel', ledger.kernel),
    row(`other processes (${ledger.otherProcesses.count})`, ledger.otherProcesses),
    row('unexplained', ledger.unexplained),
  );
  // The table's last column is free text: left-aligned, not padded.
  const text = table(rows.map((r) => r.slice(0, 3)))
    .split('\n')
    .map((line, i) => `  ${line}  ${rows[i][3]}`);
  lines.push(`  ledger of the usage (${mib(ledger.usageBytes)}):`, ...text);
  if (!layered) lines.push(`  (its layers are read from inside the process: ${p.jsHeap.source})`);
  lines.push(
    `  this process's kernel socket ` +
      `memory: ${ledger.sockets.thisProcess.bytes === null ? ledger.sockets.thisProcess.source : mib(ledger.sockets.thisProcess.bytes)}`,
  );
  return lines;
}
