/**
 * The memory cgroup's files, read once, turned into one result with the same names on v1 and
 * v2. Every figure names its file (and key) in `sources`; every null says why in `missing`.
 */
import type { CgroupLocation } from './locate';
import { parseBytes, parseFlatKeyed, parsePressure, readFailure, type FileRead, type MemoryPressure } from './parse';

export interface ContainerMemoryStat {
  /** Anonymous memory (heaps, stacks, anonymous mmaps). v2 `anon`, v1 `total_rss`. */
  anon: number | null;
  /** Page cache, tmpfs and shared memory included. v2 `file`, v1 `total_cache`. */
  file: number | null;
  activeFile: number | null;
  /** What the kernel reclaims first; the working set leaves it out. */
  inactiveFile: number | null;
  activeAnon: number | null;
  inactiveAnon: number | null;
  /** Swap-backed cache (tmpfs, shm), part of `file`. */
  shmem: number | null;
  fileMapped: number | null;
  unevictable: number | null;
  /** Kernel socket buffers charged to the group: v2 only (v1 charges them to a counter of their own, outside the limit). */
  sock: number | null;
  /** Kernel memory (slab, stacks, page tables...). v2 `kernel`, v1 memory.kmem.usage_in_bytes. */
  kernel: number | null;
  kernelStack: number | null;
  pagetables: number | null;
  slab: number | null;
  percpu: number | null;
}

export interface ContainerMemoryEvents {
  /** Reclaims under memory.low protection (v2). */
  low: number | null;
  /** Times the group was throttled above memory.high (v2). */
  high: number | null;
  /** Times usage was about to pass the limit: v2 memory.events `max`, v1 memory.failcnt. */
  max: number | null;
  /** Times the group hit the limit with the allocation about to fail (v2). */
  oom: number | null;
  /** Processes of the group killed by the OOM killer: v2 `oom_kill`, v1 memory.oom_control `oom_kill`. */
  oomKill: number | null;
  /** v2 `oom_group_kill` (memory.oom.group=1: the whole container killed together). */
  oomGroupKill: number | null;
}

export interface ContainerMemory {
  /** 1 or 2; null when the process is in no memory cgroup that can be read (see `missing.version`). */
  version: 1 | 2 | null;
  /** The group's path in its hierarchy (/proc/self/cgroup). */
  path: string | null;
  /** Where its files were read. */
  directory: string | null;
  /** The limit the kernel kills on, the lowest of the group's and its ancestors'; null when none is set. */
  limitBytes: number | null;
  /** memory.high (v2): above it the group is throttled and reclaimed, never killed. */
  highBytes: number | null;
  usageBytes: number | null;
  /** usage − inactive file: what the kubelet and cAdvisor evict and alert on. */
  workingSetBytes: number | null;
  stat: ContainerMemoryStat;
  events: ContainerMemoryEvents;
  /** Pressure stall information of the group (v2 memory.pressure). */
  pressure: MemoryPressure | null;
  /** Each figure's file and key, e.g. `{ 'stat.anon': 'memory.stat total_rss' }`. */
  sources: Record<string, string>;
  /** Each null figure's reason, e.g. `{ 'stat.sock': 'cgroup v1 charges socket buffers …' }`. */
  missing: Record<string, string>;
  /** Time spent reading and parsing, milliseconds (on the calling thread). */
  readMs: number;
}

/** The group's files by name, and (v2) each ancestor's up to the mount, nearest first. */
export interface CgroupReading {
  location: CgroupLocation;
  files: Record<string, FileRead | undefined>;
  ancestors: Array<{ directory: string; files: Record<string, FileRead | undefined> }>;
}

/** The files each version's reading needs, from the group's own directory. */
export const V1_FILES = [
  'memory.limit_in_bytes',
  'memory.usage_in_bytes',
  'memory.stat',
  'memory.kmem.usage_in_bytes',
  'memory.failcnt',
  'memory.oom_control',
] as const;
export const V2_FILES = ['memory.max', 'memory.high', 'memory.current', 'memory.stat', 'memory.events', 'memory.pressure'] as const;
/** v2 limits are not hierarchical in the files: each ancestor's own is read. */
export const V2_ANCESTOR_FILES = ['memory.max', 'memory.high'] as const;

const STAT_KEYS: Array<keyof ContainerMemoryStat> = [
  'anon',
  'file',
  'activeFile',
  'inactiveFile',
  'activeAnon',
  'inactiveAnon',
  'shmem',
  'fileMapped',
  'unevictable',
  'sock',
  'kernel',
  'kernelStack',
  'pagetables',
  'slab',
  'percpu',
];
const EVENT_KEYS: Array<keyof ContainerMemoryEvents> = ['low', 'high', 'max', 'oom', 'oomKill', 'oomGroupKill'];

/** v2 memory.stat key of each stat figure (Documentation/admin-guide/cgroup-v2.rst). */
const V2_STAT: Record<keyof ContainerMemoryStat, string> = {
  anon: 'anon',
  file: 'file',
  activeFile: 'active_file',
  inactiveFile: 'inactive_file',
  activeAnon: 'active_anon',
  inactiveAnon: 'inactive_anon',
  shmem: 'shmem',
  fileMapped: 'file_mapped',
  unevictable: 'unevictable',
  sock: 'sock',
  kernel: 'kernel',
  kernelStack: 'kernel_stack',
  pagetables: 'pagetables',
  slab: 'slab',
  percpu: 'percpu',
};
/** v1 memory.stat key (Documentation/admin-guide/cgroup-v1/memory.rst); `total_` is the hierarchical form. */
const V1_STAT: Partial<Record<keyof ContainerMemoryStat, string>> = {
  anon: 'rss',
  file: 'cache',
  activeFile: 'active_file',
  inactiveFile: 'inactive_file',
  activeAnon: 'active_anon',
  inactiveAnon: 'inactive_anon',
  shmem: 'shmem',
  fileMapped: 'mapped_file',
  unevictable: 'unevictable',
};
const V2_EVENTS: Record<keyof ContainerMemoryEvents, string> = {
  low: 'low',
  high: 'high',
  max: 'max',
  oom: 'oom',
  oomKill: 'oom_kill',
  oomGroupKill: 'oom_group_kill',
};

function emptyResult(readMs: number): ContainerMemory {
  const stat = Object.fromEntries(STAT_KEYS.map((k) => [k, null])) as unknown as ContainerMemoryStat;
  const events = Object.fromEntries(EVENT_KEYS.map((k) => [k, null])) as unknown as ContainerMemoryEvents;
  return {
    version: null,
    path: null,
    directory: null,
    limitBytes: null,
    highBytes: null,
    usageBytes: null,
    workingSetBytes: null,
    stat,
    events,
    pressure: null,
    sources: {},
    missing: {},
    readMs,
  };
}

/** A result that says only why nothing could be read. */
export function unavailable(reason: string, readMs = 0): ContainerMemory {
  const result = emptyResult(readMs);
  for (const field of ['version', 'limitBytes', 'highBytes', 'usageBytes', 'workingSetBytes', 'pressure']) result.missing[field] = reason;
  for (const key of STAT_KEYS) result.missing[`stat.${key}`] = reason;
  for (const key of EVENT_KEYS) result.missing[`events.${key}`] = reason;
  return result;
}

/** Builds the result from what was read; never throws on odd or missing files. */
export function interpretMemoryCgroup(reading: CgroupReading, readMs = 0): ContainerMemory {
  const { location, files } = reading;
  const result = emptyResult(readMs);
  result.version = location.version;
  result.path = location.path;
  result.directory = location.directory;
  const note = (field: string, source: string) => (result.sources[field] = source);
  const lack = (field: string, reason: string) => (result.missing[field] = reason);

  /** A flat-keyed file's map, or null with the reason recorded against `fields`. */
  const flat = (file: string, fields: string[]) => {
    const read = files[file];
    if (read === undefined || typeof read !== 'string') {
      for (const field of fields) lack(field, read === undefined ? `${file} was not read` : readFailure(file, read));
      return null;
    }
    return parseFlatKeyed(read);
  };
  /** A single-value byte file into `field`, 'unlimited' for max, or null with the reason recorded. */
  const bytes = (file: string, field: string): number | 'unlimited' | null => {
    const read = files[file];
    if (read === undefined || typeof read !== 'string') {
      lack(field, read === undefined ? `${file} was not read` : readFailure(file, read));
      return null;
    }
    const parsed = parseBytes(read);
    if ('invalid' in parsed) {
      lack(field, `${file} ${parsed.invalid}`);
      return null;
    }
    note(field, file);
    return 'unlimited' in parsed ? 'unlimited' : parsed.bytes;
  };

  /** Each key's line of a flat-keyed file into `target`, its source noted, or why it is missing. */
  const copyLines = <K extends string>(
    file: string,
    lines: Map<string, number>,
    group: string,
    target: Record<K, number | null>,
    keys: K[],
    lineOf: (key: K) => string | undefined,
  ) => {
    for (const key of keys) {
      const line = lineOf(key);
      if (line === undefined) continue;
      const value = lines.get(line);
      if (value !== undefined) {
        target[key] = value;
        note(`${group}.${key}`, `${file} ${line}`);
      } else lack(`${group}.${key}`, `${file} has no ${line} line on this kernel`);
    }
  };

  const statFields = STAT_KEYS.map((k) => `stat.${k}`);
  const stat = flat('memory.stat', statFields);
  if (location.version === 2) {
    if (stat) {
      copyLines('memory.stat', stat, 'stat', result.stat, STAT_KEYS, (key) => V2_STAT[key]);
      // `kernel` arrived in Linux 5.18; before it, its parts are summed.
      const parts = ['kernel_stack', 'pagetables', 'percpu', 'slab', 'vmalloc'].filter((k) => stat.has(k));
      if (result.stat.kernel === null && parts.length > 0) {
        result.stat.kernel = parts.reduce((sum, k) => sum + stat.get(k)!, 0);
        note('stat.kernel', `memory.stat ${parts.join(' + ')} (no kernel line before Linux 5.18)`);
        delete result.missing['stat.kernel'];
      }
    }
    const usage = bytes('memory.current', 'usageBytes');
    result.usageBytes = typeof usage === 'number' ? usage : null;
    if (usage === 'unlimited') lack('usageBytes', 'memory.current reads "max"');
    limitsV2(reading, result);
    const events = flat(
      'memory.events',
      EVENT_KEYS.map((k) => `events.${k}`),
    );
    if (events) copyLines('memory.events', events, 'events', result.events, EVENT_KEYS, (key) => V2_EVENTS[key]);
    const psi = files['memory.pressure'];
    if (psi === undefined || typeof psi !== 'string')
      lack(
        'pressure',
        psi === undefined
          ? 'memory.pressure was not read'
          : `${readFailure('memory.pressure', psi)}: PSI is off (psi=0 on the kernel command line) or not built in`,
      );
    else {
      result.pressure = parsePressure(psi);
      if (result.pressure) note('pressure', 'memory.pressure');
      else lack('pressure', 'memory.pressure has no "some avg10=…" line');
    }
  } else {
    if (stat) {
      // The hierarchical total_ figure, as usage_in_bytes counts descendants too.
      const line = (base: string | undefined) => (base !== undefined && stat.has(`total_${base}`) ? `total_${base}` : base);
      copyLines('memory.stat', stat, 'stat', result.stat, STAT_KEYS, (key) => line(V1_STAT[key]));
    }
    const kmem = bytes('memory.kmem.usage_in_bytes', 'stat.kernel');
    result.stat.kernel = typeof kmem === 'number' ? kmem : null;
    lack(
      'stat.sock',
      'cgroup v1 charges socket buffers to memory.kmem.tcp.usage_in_bytes (only once a TCP limit is ' +
        'set), never to memory.usage_in_bytes: they do not count against the limit',
    );
    for (const key of ['kernelStack', 'pagetables', 'slab', 'percpu'] as const)
      lack(`stat.${key}`, 'cgroup v1 memory.stat has no per-kind kernel figures: memory.kmem.usage_in_bytes (stat.kernel) holds them together');
    const usage = bytes('memory.usage_in_bytes', 'usageBytes');
    result.usageBytes = typeof usage === 'number' ? usage : null;
    limitV1(reading, result, stat);
    lack('highBytes', 'cgroup v1 has no memory.high (memory.soft_limit_in_bytes only steers reclaim under global pressure)');
    const failcnt = bytes('memory.failcnt', 'events.max');
    result.events.max = typeof failcnt === 'number' ? failcnt : null;
    const oom = flat('memory.oom_control', ['events.oomKill']);
    const kills = oom?.get('oom_kill');
    if (kills !== undefined) {
      result.events.oomKill = kills;
      note('events.oomKill', 'memory.oom_control oom_kill');
    } else if (oom) lack('events.oomKill', 'memory.oom_control has no oom_kill line (Linux before 4.13)');
    for (const key of ['low', 'high', 'oom', 'oomGroupKill'] as const)
      lack(`events.${key}`, 'cgroup v1 keeps no such counter (only memory.failcnt and memory.oom_control oom_kill)');
    lack('pressure', 'cgroup v1 has no per-group pressure stall file (memory.pressure_level is an eventfd notification, not a figure)');
  }

  if (result.usageBytes !== null && result.stat.inactiveFile !== null) {
    // cAdvisor's working set: usage − inactive_file, floored at zero.
    result.workingSetBytes = Math.max(0, result.usageBytes - result.stat.inactiveFile);
    note('workingSetBytes', `${result.sources.usageBytes} − ${result.sources['stat.inactiveFile']}`);
  } else lack('workingSetBytes', 'needs both usage and inactive_file');
  settle(result);
  return result;
}

/** A figure that was read keeps its source only; a null one keeps its reason only. */
function settle(result: ContainerMemory): void {
  const valueOf = (field: string): unknown => {
    const [head, tail] = field.split('.');
    const value = (result as unknown as Record<string, unknown>)[head];
    return tail === undefined ? value : (value as Record<string, unknown>)[tail];
  };
  for (const field of Object.keys(result.sources)) if (valueOf(field) === null) delete result.sources[field];
  for (const field of Object.keys(result.missing)) if (valueOf(field) !== null) delete result.missing[field];
}

/** v2: memory.max and memory.high of the group and each ancestor; the lowest binds. */
function limitsV2(reading: CgroupReading, result: ContainerMemory): void {
  for (const [file, field] of [
    ['memory.max', 'limitBytes'],
    ['memory.high', 'highBytes'],
  ] as const) {
    let lowest: { bytes: number; where: string } | null = null;
    const unreadable: string[] = [];
    const levels = [{ directory: reading.location.directory, files: reading.files }, ...reading.ancestors];
    for (const level of levels) {
      const read = level.files[file];
      // The root group has no memory.max: nothing above it to look at.
      if (read === undefined || (typeof read !== 'string' && read.error === 'ENOENT')) continue;
      if (typeof read !== 'string') {
        unreadable.push(`${level.directory}/${file} (${read.error})`);
        continue;
      }
      const parsed = parseBytes(read);
      if ('invalid' in parsed) unreadable.push(`${level.directory}/${file} ${parsed.invalid}`);
      else if ('bytes' in parsed && (lowest === null || parsed.bytes < lowest.bytes)) lowest = { bytes: parsed.bytes, where: `${level.directory}/${file}` };
    }
    if (lowest) {
      result[field] = lowest.bytes;
      result.sources[field] = lowest.where === `${reading.location.directory}/${file}` ? file : `${lowest.where} (an ancestor's, lower than the group's own)`;
    } else {
      result.missing[field] =
        unreadable.length > 0
          ? `no limit could be read: ${unreadable.join('; ')}`
          : `${file} reads "max" in ${reading.location.path} and every ancestor up to the ` +
            `mount: ${field === 'limitBytes' ? 'no limit, the kernel kills only on the host running out' : 'no throttle threshold'}`;
    }
  }
}

/** v1: memory.stat hierarchical_memory_limit is already the lowest of the group and its ancestors. */
function limitV1(reading: CgroupReading, result: ContainerMemory, stat: Map<string, number> | null): void {
  const hierarchical = stat?.get('hierarchical_memory_limit');
  const own = reading.files['memory.limit_in_bytes'];
  const ownParsed = typeof own === 'string' ? parseBytes(own) : null;
  if (hierarchical !== undefined) {
    if (hierarchical < 2 ** 62) {
      result.limitBytes = hierarchical;
      const fromOwn = ownParsed !== null && 'bytes' in ownParsed && ownParsed.bytes === hierarchical;
      result.sources.limitBytes = fromOwn
        ? 'memory.limit_in_bytes (= memory.stat hierarchical_memory_limit)'
        : "memory.stat hierarchical_memory_limit (an ancestor's limit, lower than the group's own)";
    } else
      result.missing.limitBytes =
        `memory.stat hierarchical_memory_limit reads the v1 "unlimited" figure (9223372036854771712 ` +
        `with 4 KiB pages): no limit on ${reading.location.path} or any ancestor`;
    return;
  }
  if (ownParsed === null) {
    result.missing.limitBytes = own === undefined ? 'memory.limit_in_bytes was not read' : readFailure('memory.limit_in_bytes', own as { error: string });
  } else if ('invalid' in ownParsed) result.missing.limitBytes = `memory.limit_in_bytes ${ownParsed.invalid}`;
  else if ('unlimited' in ownParsed)
    result.missing.limitBytes = 'memory.limit_in_bytes reads the v1 "unlimited" figure and memory.stat has no hierarchical_memory_limit to show an ancestor\'s';
  else {
    result.limitBytes = ownParsed.bytes;
    result.sources.limitBytes = 'memory.limit_in_bytes (memory.stat has no hierarchical_memory_limit: ancestors not checked)';
  }
}
