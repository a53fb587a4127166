/** The memory cgroup's event counters that moved, as lines an operator reads, each with what to do. */
import type { MemoryEventCounter, MemoryEventRecord } from '../container/events';
import { mib } from '../format/bytes';

const MEANING: Record<MemoryEventCounter, { what: string; advice: string }> = {
  oomKill: {
    what: 'the kernel OOM-killed a process in this container',
    advice:
      'the group reached its limit: containerLedger() names who holds the usage; raise the limit or ' +
      'lower the largest holder (another process in the container is the usual victim before this one)',
  },
  oomGroupKill: { what: 'the kernel killed the whole group (memory.oom.group=1)', advice: 'raise the limit or lower the usage containerLedger() names' },
  oom: { what: 'an allocation met the limit and reclaim could not make room', advice: 'an OOM kill is next: lower the usage or raise the limit' },
  max: {
    what: 'usage reached the limit and the kernel reclaimed to stay under it',
    advice:
      'page cache and freed memory are being pushed out under the limit: the working set is near it ' +
      '(memory-headroom); autoRelease({ memoryLimit: "cgroup" }) gives free native memory back before ' +
      'the kernel has to',
  },
  high: { what: 'usage passed memory.high and the group was throttled', advice: 'the service is slowed by reclaim: raise memory.high or lower the usage' },
  low: { what: 'the group was reclaimed below its memory.low protection', advice: 'the host is short of memory: other groups press on this one' },
};

export function renderMemoryEvents(records: MemoryEventRecord[], indent = '  '): string[] {
  const lines = [`Memory cgroup events (${records.length}):`];
  for (const r of records) {
    const meaning = MEANING[r.counter];
    const when = new Date(r.time).toISOString();
    lines.push(
      `${indent}${when} ${r.source} ${r.from} → ${r.to}: ${meaning?.what ?? r.counter}; working ` +
        `set ${mib(r.workingSetBytes, '?')} of a ${mib(r.limitBytes, '?')} limit (seen by ${r.method})`,
    );
    if (meaning) lines.push(`${indent}    → ${meaning.advice}`);
  }
  return lines;
}
