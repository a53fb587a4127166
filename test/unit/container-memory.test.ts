import { describe, expect, it } from 'vitest';
import { interpretMemoryCgroup, type CgroupReading, type ContainerMemory } from '../../src/container/interpret';
import { locateMemoryCgroup, parseMountinfo, type CgroupLocation } from '../../src/container/locate';
import { parseBytes, parsePressure } from '../../src/container/parse';
import { containerHeadroom, containerMemory } from '../../src/container/memory';
import { reconcileLedger, type ProcessReading } from '../../src/container/reconcile';
import { recordedText } from '../helpers/recorded';

/** `head` output: sections opened by `==> name <==`, header comment lines before the first. */
function sections(name: string): Map<string, string> {
  const map = new Map<string, string>();
  let current: string | null = null;
  for (const line of recordedText(name).split('\n')) {
    const open = /^==> (.+) <==$/.exec(line);
    if (open) map.set((current = open[1]), '');
    else if (current) map.set(current, map.get(current)! + line + '\n');
  }
  return map;
}

/** A key's value in a flat-keyed section, read by splitting on whitespace (not the parser's regex). */
const keyed = (text: string, key: string) =>
  Number(
    text
      .split('\n')
      .find((line) => line.split(' ')[0] === key)!
      .split(' ')[1],
  );

function reading(name: string): { files: Map<string, string>; location: CgroupLocation; reading: CgroupReading } {
  const files = sections(name);
  const located = locateMemoryCgroup(files.get('/proc/self/cgroup')!, files.get('/proc/self/mountinfo')!);
  if (!('location' in located)) throw new Error(located.reason);
  const own: CgroupReading['files'] = {};
  for (const [file, text] of files) if (!file.startsWith('/')) own[file] = text;
  return { files, location: located.location, reading: { location: located.location, files: own, ancestors: [] } };
}

/** Each figure has either a source (read) or a reason (null), never both or neither. */
function expectAccounted(result: ContainerMemory) {
  const figures: Array<[string, unknown]> = [
    ['limitBytes', result.limitBytes],
    ['highBytes', result.highBytes],
    ['usageBytes', result.usageBytes],
    ['workingSetBytes', result.workingSetBytes],
    ['pressure', result.pressure],
    ...Object.entries(result.stat).map(([k, v]): [string, unknown] => [`stat.${k}`, v]),
    ...Object.entries(result.events).map(([k, v]): [string, unknown] => [`events.${k}`, v]),
  ];
  for (const [field, value] of figures) {
    if (value === null) {
      expect(result.missing[field], field).toMatch(/\w{3}/);
      expect(result.sources[field], field).toBeUndefined();
    } else {
      expect(result.sources[field], field).toMatch(/\w{3}/);
      expect(result.missing[field], field).toBeUndefined();
    }
  }
}

describe('cgroup v1, recorded on this machine (a child group limited to 512 MiB, node inside)', () => {
  const { files, location, reading: r } = reading('cgroup-v1-limited.txt');
  const stat = files.get('memory.stat')!;
  const result = interpretMemoryCgroup(r);

  it('finds the memory group from /proc/self/cgroup and the memory mount in mountinfo', () => {
    const path = /^\d+:memory:(.+)$/m.exec(files.get('/proc/self/cgroup')!)![1];
    expect(location).toMatchObject({ version: 1, path, directory: `/sys/fs/cgroup/memory${path}`, readOnly: false });
  });

  it("reads each figure as the group's own file has it, under the same names as v2", () => {
    expect(result.version).toBe(1);
    expect(result.limitBytes).toBe(Number(files.get('memory.limit_in_bytes')));
    expect(result.limitBytes).toBe(512 * 1024 * 1024);
    expect(result.usageBytes).toBe(Number(files.get('memory.usage_in_bytes')));
    expect(result.stat.anon).toBe(keyed(stat, 'total_rss'));
    expect(result.stat.file).toBe(keyed(stat, 'total_cache'));
    expect(result.stat.activeFile).toBe(keyed(stat, 'total_active_file'));
    expect(result.stat.inactiveFile).toBe(keyed(stat, 'total_inactive_file'));
    expect(result.stat.kernel).toBe(Number(files.get('memory.kmem.usage_in_bytes')));
    expect(result.workingSetBytes).toBe(result.usageBytes! - keyed(stat, 'total_inactive_file'));
    expect(result.events.max).toBe(Number(files.get('memory.failcnt')));
    expect(result.events.oomKill).toBe(keyed(files.get('memory.oom_control')!, 'oom_kill'));
    // The node process held 64 MiB of Buffers and wrote an 8 MiB file.
    expect(result.stat.anon).toBeGreaterThan(64 * 1024 * 1024);
    expect(result.stat.file).toBeGreaterThanOrEqual(8 * 1024 * 1024);
    expect(result.sources['stat.anon']).toBe('memory.stat total_rss');
  });

  it('says why v1 has no sock, high, pressure or oom counter, instead of a zero', () => {
    expect(result.stat.sock).toBeNull();
    expect(result.missing['stat.sock']).toMatch(/memory\.kmem\.tcp/);
    expect(result.highBytes).toBeNull();
    expect(result.pressure).toBeNull();
    expect(result.events.oom).toBeNull();
    expectAccounted(result);
  });

  it('reports no limit, and why, for a group with none on it or any ancestor (9223372036854771712)', () => {
    const unlimited = interpretMemoryCgroup(reading('cgroup-v1-unlimited.txt').reading);
    expect(unlimited.limitBytes).toBeNull();
    expect(unlimited.missing.limitBytes).toMatch(/unlimited/);
    expect(unlimited.usageBytes).toBeGreaterThan(0);
    expectAccounted(unlimited);
  });

  it("takes an ancestor's lower limit from hierarchical_memory_limit, and says so", () => {
    const files2 = {
      ...r.files,
      'memory.limit_in_bytes': '9223372036854771712\n',
      'memory.stat': stat.replace(/^hierarchical_memory_limit .*$/m, 'hierarchical_memory_limit 268435456'),
    };
    const ancestor = interpretMemoryCgroup({ ...r, files: files2 });
    expect(ancestor.limitBytes).toBe(268435456);
    expect(ancestor.sources.limitBytes).toMatch(/ancestor/);
  });
});

describe("cgroup v2, written from the kernel documentation's format", () => {
  const { files, location, reading: r } = reading('cgroup-v2-written.txt');
  const stat = files.get('memory.stat')!;
  const result = interpretMemoryCgroup(r);

  it('finds the group at the namespace root on a read-only cgroup2 mount', () => {
    expect(location).toEqual({ version: 2, path: '/', directory: '/sys/fs/cgroup', mountPoint: '/sys/fs/cgroup', readOnly: true });
  });

  it('reads limit, usage, stat, events and pressure from their files', () => {
    expect(result.limitBytes).toBe(Number(files.get('memory.max')));
    expect(result.highBytes).toBeNull();
    expect(result.missing.highBytes).toMatch(/"max"/);
    expect(result.usageBytes).toBe(Number(files.get('memory.current')));
    for (const [field, key] of [
      ['anon', 'anon'],
      ['file', 'file'],
      ['activeFile', 'active_file'],
      ['inactiveFile', 'inactive_file'],
      ['sock', 'sock'],
      ['kernel', 'kernel'],
      ['shmem', 'shmem'],
      ['slab', 'slab'],
    ] as const) {
      expect(result.stat[field], field).toBe(keyed(stat, key));
    }
    expect(result.workingSetBytes).toBe(result.usageBytes! - keyed(stat, 'inactive_file'));
    expect(result.events).toEqual({ low: 0, high: 0, max: 12, oom: 1, oomKill: 1, oomGroupKill: 0 });
    expect(result.pressure).toEqual({
      some: { avg10: 0.12, avg60: 0.05, avg300: 0.01, totalMicros: 123456 },
      full: { avg10: 0, avg60: 0, avg300: 0, totalMicros: 4567 },
    });
    expect(result.sources['events.oomKill']).toBe('memory.events oom_kill');
    expectAccounted(result);
  });

  it('sums kernel from its parts on kernels before 5.18 (no kernel line), naming them', () => {
    const old = interpretMemoryCgroup({ ...r, files: { ...r.files, 'memory.stat': stat.replace(/^kernel \d+\n/m, '') } });
    expect(old.stat.kernel).toBe(['kernel_stack', 'pagetables', 'percpu', 'slab', 'vmalloc'].reduce((s, k) => s + keyed(stat, k), 0));
    expect(old.stat.kernel).toBe(keyed(stat, 'kernel'));
    expect(old.sources['stat.kernel']).toMatch(/kernel_stack \+ pagetables/);
  });

  it('takes the lowest memory.max of the group and its ancestors, and no limit when all read max', () => {
    const nested: CgroupReading = {
      location: { ...r.location, path: '/kubepods.slice/pod1/ctr', directory: '/sys/fs/cgroup/kubepods.slice/pod1/ctr' },
      files: { ...r.files, 'memory.max': 'max\n' },
      ancestors: [
        { directory: '/sys/fs/cgroup/kubepods.slice/pod1', files: { 'memory.max': '268435456\n', 'memory.high': 'max\n' } },
        { directory: '/sys/fs/cgroup/kubepods.slice', files: { 'memory.max': '1073741824\n', 'memory.high': 'max\n' } },
        { directory: '/sys/fs/cgroup', files: { 'memory.max': { error: 'ENOENT' }, 'memory.high': { error: 'ENOENT' } } },
      ],
    };
    const limited = interpretMemoryCgroup(nested);
    expect(limited.limitBytes).toBe(268435456);
    expect(limited.sources.limitBytes).toMatch(/pod1\/memory\.max.*ancestor/);
    const open = interpretMemoryCgroup({ ...nested, ancestors: nested.ancestors.map((a) => ({ ...a, files: { 'memory.max': 'max\n' } })) });
    expect(open.limitBytes).toBeNull();
    expect(open.missing.limitBytes).toMatch(/"max" in \/kubepods.slice\/pod1\/ctr and every ancestor/);
  });
});

describe('bad input and absence: a reason, never a throw', () => {
  const { reading: r } = reading('cgroup-v2-written.txt');

  it('no cgroup mount, no memory line, an empty /proc/self/cgroup, a path outside the mount', () => {
    expect(locateMemoryCgroup('0::/app\n', '22 1 0:5 / /proc rw - proc proc rw\n')).toEqual({ reason: expect.stringMatching(/no cgroup2 mount/) });
    expect(locateMemoryCgroup('4:memory:/a\n', '22 1 0:5 / /proc rw - proc proc rw\n')).toEqual({
      reason: expect.stringMatching(/no cgroup v1 mount with the memory controller/),
    });
    expect(locateMemoryCgroup('', '')).toEqual({ reason: expect.stringMatching(/lists no cgroup/) });
    expect(locateMemoryCgroup('3:cpu:/x\n', '')).toEqual({ reason: expect.stringMatching(/neither/) });
    const outside = locateMemoryCgroup('0::/other/app\n', '30 1 0:30 /kubepods /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n');
    expect(outside).toEqual({ reason: expect.stringMatching(/outside every mounted/) });
  });

  it('an unreadable file makes its figures null with the errno, the rest still read', () => {
    const result = interpretMemoryCgroup({ ...r, files: { ...r.files, 'memory.stat': { error: 'EACCES' } } });
    expect(result.stat.anon).toBeNull();
    expect(result.missing['stat.anon']).toBe('memory.stat could not be read (EACCES)');
    expect(result.workingSetBytes).toBeNull();
    expect(result.usageBytes).toBe(381943808);
    expectAccounted(result);
  });

  it('garbage in a limit file, a missing PSI file, a truncated stat', () => {
    const result = interpretMemoryCgroup({
      ...r,
      files: { ...r.files, 'memory.max': 'lots\n', 'memory.pressure': { error: 'EOPNOTSUPP' }, 'memory.stat': 'anon 5\nfile' },
    });
    expect(result.limitBytes).toBeNull();
    expect(result.missing.limitBytes).toMatch(/"lots", not a byte count/);
    expect(result.pressure).toBeNull();
    expect(result.missing.pressure).toMatch(/EOPNOTSUPP.*PSI/);
    expect(result.stat.anon).toBe(5);
    expect(result.stat.file).toBeNull();
    expectAccounted(result);
  });

  it('parsers: max, the v1 unlimited figure, PSI without a full line, mountinfo escapes', () => {
    expect(parseBytes('max\n')).toEqual({ unlimited: true });
    expect(parseBytes('9223372036854771712\n')).toEqual({ unlimited: true });
    expect(parseBytes('9223372036854710272')).toEqual({ unlimited: true }); // 64 KiB pages
    expect(parseBytes('4096')).toEqual({ bytes: 4096 });
    expect(parseBytes('-1')).toHaveProperty('invalid');
    expect(parsePressure('some avg10=1.50 avg60=0.00 avg300=0.00 total=9\n')).toEqual({
      some: { avg10: 1.5, avg60: 0, avg300: 0, totalMicros: 9 },
      full: null,
    });
    expect(parsePressure('')).toBeNull();
    expect(parseMountinfo('36 25 0:31 / /sys/fs/cgroup/my\\040dir rw shared:9 - cgroup2 cgroup2 rw\n')[0]).toMatchObject({
      mountPoint: '/sys/fs/cgroup/my dir',
      fsType: 'cgroup2',
    });
  });
});

describe("the ledger reconciles the group's usage", () => {
  const line = (bytes: number | null) => ({ bytes, source: 'test' });
  const MiB = 1024 * 1024;
  const own: ProcessReading = {
    pid: 7,
    anonBytes: 250 * MiB,
    jsHeap: line(120 * MiB),
    external: line(40 * MiB),
    nativeInUse: line(60 * MiB),
    nativeFree: line(20 * MiB),
  };
  const v2 = interpretMemoryCgroup(reading('cgroup-v2-written.txt').reading);

  it("v2: the lines and the unexplained rest add up to usage; sock is the group's own figure", () => {
    const othersAnon = v2.stat.anon! - own.anonBytes;
    const ledger = reconcileLedger(v2, own, { count: 2, anonBytes: othersAnon, unreadable: 0 }, line(20 * MiB))!;
    expect(ledger.process.stacksAndOther.bytes).toBe(10 * MiB);
    expect(ledger.sockets.charged.bytes).toBe(v2.stat.sock);
    expect(ledger.sockets.thisProcess.bytes).toBe(20 * MiB);
    expect(ledger.pageCache.other.bytes).toBe(v2.stat.shmem);
    const lines = [
      ledger.process.anon,
      ledger.sockets.charged,
      ledger.pageCache.active,
      ledger.pageCache.inactive,
      ledger.pageCache.other,
      ledger.kernel,
      ledger.otherProcesses,
    ].reduce((s, l) => s + l.bytes!, 0);
    expect(lines + ledger.unexplained.bytes).toBe(ledger.usageBytes);
    // The written files leave 256 KiB of per-CPU charge batched ahead.
    expect(ledger.unexplained.bytes).toBe(256 * 1024);
    expect(Math.abs(ledger.unexplained.fraction)).toBeLessThan(0.01);
  });

  it('v1: socket buffers are outside usage, so the charged line is 0 and says why', () => {
    const v1 = interpretMemoryCgroup(reading('cgroup-v1-limited.txt').reading);
    const ledger = reconcileLedger(v1, { ...own, anonBytes: v1.stat.anon! }, { count: 0, anonBytes: 0, unreadable: 0 }, line(0))!;
    expect(ledger.sockets.charged).toEqual({ bytes: 0, source: expect.stringMatching(/outside memory\.usage_in_bytes/) });
    expect(ledger.version).toBe(1);
  });

  it('layers larger than RssAnon leave no negative line; the overcount shows as negative unexplained', () => {
    const small = { ...own, anonBytes: 200 * MiB };
    const ledger = reconcileLedger(v2, small, { count: 0, anonBytes: 0, unreadable: 0 }, line(null))!;
    expect(ledger.process.stacksAndOther.bytes).toBe(0);
    const unread = reconcileLedger(v2, own, { count: 0, anonBytes: 0, unreadable: 0, reason: 'cgroup.procs could not be read (EACCES)' }, line(null))!;
    expect(unread.otherProcesses).toMatchObject({ bytes: null, source: 'cgroup.procs could not be read (EACCES)' });
  });

  it('no usage figure: no ledger', () => {
    expect(
      reconcileLedger(
        interpretMemoryCgroup({ ...reading('cgroup-v2-written.txt').reading, files: {} }),
        own,
        { count: 0, anonBytes: 0, unreadable: 0 },
        line(null),
      ),
    ).toBeNull();
  });
});

describe('on this machine', () => {
  it("containerMemory() and the probe's containerHeadroom() find the same group; what is not read says so", () => {
    const full = containerMemory();
    const light = containerHeadroom();
    expect(light.version).toBe(full.version);
    expect(light.directory).toBe(full.directory);
    expect(light.limitBytes).toBe(full.limitBytes);
    // At a v2 hierarchy's root (no memory.current there) both say why usage is missing, in the same words.
    if (full.usageBytes !== null) expect(light.usageBytes).toBeGreaterThan(0);
    else expect(light.missing.usageBytes).toBe(full.missing.usageBytes);
    if (full.version !== null) expect(light.missing['events.oomKill']).toMatch(/was not read/);
    else expect(light.missing.version).toBe(full.missing.version);
  });
});
