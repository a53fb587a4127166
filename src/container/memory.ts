import * as fs from 'node:fs';
import * as path from 'node:path';
import { interpretMemoryCgroup, unavailable, V1_FILES, V2_ANCESTOR_FILES, V2_FILES, type CgroupReading, type ContainerMemory } from './interpret';
import { locateMemoryCgroup, type CgroupLocation } from './locate';
import type { FileRead } from './parse';

/** Cgroup files fit in a few KiB (memory.stat ~1.5 KiB); one buffer serves every read. */
const buffer = Buffer.allocUnsafe(64 * 1024);

/**
 * One small file, or the errno code that stopped it (never a throw). open/read/close into a
 * reused buffer: half the cost of readFileSync, which stats and grows a buffer for /proc files.
 */
export function readSmall(file: string): FileRead {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (error) {
    return { error: (error as NodeJS.ErrnoException).code ?? String(error) };
  }
  try {
    let length = 0;
    for (let n: number; length < buffer.length && (n = fs.readSync(fd, buffer, length, buffer.length - length, null)) > 0; ) length += n;
    return buffer.toString('latin1', 0, length);
  } catch (error) {
    return { error: (error as NodeJS.ErrnoException).code ?? String(error) };
  } finally {
    fs.closeSync(fd);
  }
}

type Location = { location: CgroupLocation } | { reason: string };
/** mountinfo is the costly read: it is read again only when /proc/self/cgroup changes. */
let cached: { cgroup: string; located: Location } | null = null;

/** Where this process's memory cgroup is, or why there is none to read. */
export function locateOwnMemoryCgroup(): Location {
  const cgroup = readSmall('/proc/self/cgroup');
  if (typeof cgroup !== 'string') return { reason: `/proc/self/cgroup could not be read (${cgroup.error}): no cgroup support, or /proc is not mounted` };
  if (cached?.cgroup === cgroup) return cached.located;
  const mountinfo = readSmall('/proc/self/mountinfo');
  if (typeof mountinfo !== 'string') return { reason: `/proc/self/mountinfo could not be read (${mountinfo.error})` };
  cached = { cgroup, located: locateMemoryCgroup(cgroup, mountinfo) };
  return cached.located;
}

/** Where another process's memory cgroup is (its /proc/<pid>/cgroup, in its mount namespace), or why there is none to read. */
export function locateMemoryCgroupOf(pid: number): Location {
  const cgroup = readSmall(`/proc/${pid}/cgroup`);
  if (typeof cgroup !== 'string') return { reason: `/proc/${pid}/cgroup could not be read (${cgroup.error})` };
  const mountinfo = readSmall(`/proc/${pid}/mountinfo`);
  if (typeof mountinfo !== 'string') return { reason: `/proc/${pid}/mountinfo could not be read (${mountinfo.error})` };
  const located = locateMemoryCgroup(cgroup, mountinfo);
  // Its mount points are in its own namespace: readable from here only when they match ours.
  if ('location' in located && !fs.existsSync(located.location.directory))
    return {
      reason: `process ${pid}'s memory cgroup ${located.location.directory} is not visible from this mount namespace (a container: run sockprobe inside it)`,
    };
  return located;
}

/** Reads a located group's files (and, on v2, each ancestor's limits up to the mount). */
export function readMemoryCgroup(location: CgroupLocation, only?: { v1: readonly string[]; v2: readonly string[] }): CgroupReading {
  const names = location.version === 2 ? (only?.v2 ?? V2_FILES) : (only?.v1 ?? V1_FILES);
  const files: CgroupReading['files'] = {};
  for (const name of names) files[name] = readSmall(path.join(location.directory, name));
  const ancestors: CgroupReading['ancestors'] = [];
  if (location.version === 2) {
    // Bounded by the path's depth: each step goes one directory up towards the mount point.
    for (let dir = location.directory; dir !== location.mountPoint && dir.startsWith(location.mountPoint + '/'); ) {
      dir = path.dirname(dir);
      const level: CgroupReading['files'] = {};
      for (const name of V2_ANCESTOR_FILES) level[name] = readSmall(path.join(dir, name));
      ancestors.push({ directory: dir, files: level });
    }
  }
  return { location, files, ancestors };
}

/**
 * containerMemory(): this process's memory cgroup (v1 or v2) as the kernel counts it: the limit
 * it kills on, usage, working set, memory.stat, events and pressure, each figure with its
 * file. Synchronous: a handful of small reads under /proc and the cgroup mount. Never throws:
 * whatever cannot be read is null with its reason in `missing`.
 */
export function containerMemory(): ContainerMemory {
  const started = performance.now();
  try {
    const located = locateOwnMemoryCgroup();
    if ('reason' in located) return unavailable(located.reason, performance.now() - started);
    const reading = readMemoryCgroup(located.location);
    const result = interpretMemoryCgroup(reading);
    result.readMs = performance.now() - started;
    return result;
  } catch (error) {
    // The parsers do not throw on any text; this guards the promise made to a running service.
    return unavailable(`reading the memory cgroup failed: ${(error as Error).message}`, performance.now() - started);
  }
}

/** containerMemory() of another process (`pid`), as the CLI's snapshot --pid shows it. */
export function containerMemoryOf(pid: number): ContainerMemory {
  const started = performance.now();
  try {
    const located = locateMemoryCgroupOf(pid);
    if ('reason' in located) return unavailable(located.reason, performance.now() - started);
    const result = interpretMemoryCgroup(readMemoryCgroup(located.location));
    result.readMs = performance.now() - started;
    return result;
  } catch (error) {
    return unavailable(`reading the memory cgroup failed: ${(error as Error).message}`, performance.now() - started);
  }
}

/** The files behind limit, usage and working set: half of containerMemory()'s reads. */
export const HEADROOM_FILES = {
  v1: ['memory.limit_in_bytes', 'memory.usage_in_bytes', 'memory.stat'],
  v2: ['memory.max', 'memory.current', 'memory.stat'],
} as const;

/**
 * The limit, usage and working set only (what the probe samples each time), with the same
 * names, sources and reasons as containerMemory(); the other figures are null, "not read".
 */
export function containerHeadroom(): ContainerMemory {
  const started = performance.now();
  try {
    const located = locateOwnMemoryCgroup();
    if ('reason' in located) return unavailable(located.reason, performance.now() - started);
    const result = interpretMemoryCgroup(readMemoryCgroup(located.location, HEADROOM_FILES));
    result.readMs = performance.now() - started;
    return result;
  } catch (error) {
    return unavailable(`reading the memory cgroup failed: ${(error as Error).message}`, performance.now() - started);
  }
}
