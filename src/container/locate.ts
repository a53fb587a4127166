/**
 * Where this process's memory cgroup lives: its path from /proc/self/cgroup and the directory of
 * that path under the hierarchy's mount from /proc/self/mountinfo. Pure functions over the text.
 */

export interface CgroupLocation {
  version: 1 | 2;
  /** The cgroup's path in its hierarchy, as /proc/self/cgroup has it. */
  path: string;
  /** The directory holding the group's files (mount point + path below the mount's root). */
  directory: string;
  /** The hierarchy's mount point (for ancestors: the walk stops there). */
  mountPoint: string;
  /** Mounted read-only: figures can be read, no group can be made or limited. */
  readOnly: boolean;
}

export type Located = { location: CgroupLocation } | { reason: string };

interface CgroupLine {
  id: string;
  controllers: string[];
  path: string;
}

/** /proc/<pid>/cgroup: `hierarchy-ID:controller-list:path`, one a line (the path may hold colons). */
export function parseProcCgroup(text: string): CgroupLine[] {
  const lines: CgroupLine[] = [];
  for (const line of text.split('\n')) {
    const first = line.indexOf(':');
    const second = first < 0 ? -1 : line.indexOf(':', first + 1);
    if (second < 0) continue;
    const controllers = line.slice(first + 1, second);
    lines.push({ id: line.slice(0, first), controllers: controllers === '' ? [] : controllers.split(','), path: line.slice(second + 1) });
  }
  return lines;
}

export interface MountInfo {
  root: string;
  mountPoint: string;
  options: string[];
  fsType: string;
  superOptions: string[];
}

/** Octal escapes mountinfo uses for space, tab, newline and backslash in paths. */
const unescape = (field: string) => field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));

/** /proc/<pid>/mountinfo (proc(5)): fields, optional fields up to ` - `, then fstype, source, super options. */
export function parseMountinfo(text: string): MountInfo[] {
  const mounts: MountInfo[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    const dash = fields.indexOf('-', 6);
    if (fields.length < 10 || dash < 0 || dash + 3 > fields.length) continue;
    mounts.push({
      root: unescape(fields[3]),
      mountPoint: unescape(fields[4]),
      options: fields[5].split(','),
      fsType: fields[dash + 1],
      superOptions: fields[dash + 3].split(','),
    });
  }
  return mounts;
}

/** `path` below `root`, or null when the group lies outside what is mounted. */
function below(root: string, path: string): string | null {
  if (root === '/') return path;
  if (path === root) return '/';
  return path.startsWith(root + '/') ? path.slice(root.length) : null;
}

const join = (mountPoint: string, relative: string) => (relative === '/' ? mountPoint : mountPoint.replace(/\/$/, '') + relative);

/**
 * The memory cgroup of the process whose /proc files are given. A `memory` line (cgroup v1,
 * hybrid hosts included) wins over the unified `0::` line, since a v2 mount next to a v1 memory
 * controller has no memory controller of its own.
 */
export function locateMemoryCgroup(procCgroup: string, mountinfo: string): Located {
  const lines = parseProcCgroup(procCgroup);
  if (lines.length === 0) return { reason: '/proc/self/cgroup lists no cgroup: the kernel has no cgroup support, or /proc is not mounted' };
  const mounts = parseMountinfo(mountinfo);
  const v1 = lines.find((line) => line.controllers.includes('memory'));
  if (v1) {
    const candidates = mounts.filter((m) => m.fsType === 'cgroup' && m.superOptions.includes('memory'));
    if (candidates.length === 0)
      return { reason: `/proc/self/cgroup names memory cgroup ${v1.path}, but /proc/self/mountinfo has no cgroup v1 mount with the memory controller` };
    return pick(1, v1.path, candidates);
  }
  const unified = lines.find((line) => line.id === '0' && line.controllers.length === 0);
  if (!unified) return { reason: '/proc/self/cgroup has neither a memory controller line (v1) nor a 0:: line (v2)' };
  const candidates = mounts.filter((m) => m.fsType === 'cgroup2');
  if (candidates.length === 0) return { reason: `/proc/self/cgroup names cgroup ${unified.path}, but /proc/self/mountinfo has no cgroup2 mount` };
  return pick(2, unified.path, candidates);
}

function pick(version: 1 | 2, path: string, mounts: MountInfo[]): Located {
  for (const mount of mounts) {
    const relative = below(mount.root, path);
    if (relative === null) continue;
    return { location: { version, path, directory: join(mount.mountPoint, relative), mountPoint: mount.mountPoint, readOnly: mount.options.includes('ro') } };
  }
  return {
    reason:
      `cgroup ${path} lies outside every mounted cgroup${version === 2 ? '2' : ' v1 memory'} ` +
      `hierarchy (mounted roots: ${mounts.map((m) => m.root).join(', ')})`,
  };
}
