/**
 * Memory cgroups made by system tests: this process's own v1 memory group (root and a writable
 * hierarchy needed: the reason otherwise), removal of a group the test made, also on failure, and
 * this process's group read plainly from its files, the independent side of the exporters' checks.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The v1 memory group of this process, made writable-checked; throws the reason otherwise. */
export function ownV1MemoryGroup(): string {
  if (process.getuid?.() !== 0) throw new Error(`this test makes a memory cgroup and needs root (uid ${process.getuid?.()}); run it as root, as CI does`);
  const line = /^\d+:memory:(.*)$/m.exec(fs.readFileSync('/proc/self/cgroup', 'utf8'));
  if (!line)
    throw new Error(
      'this test needs the cgroup v1 memory controller (no memory line in /proc/self/cgroup); on a v2-only host the v2 parsing is covered by the unit tier',
    );
  const dir = path.join('/sys/fs/cgroup/memory', line[1]);
  try {
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (error) {
    throw new Error(`the memory cgroup ${dir} is not writable (${(error as NodeJS.ErrnoException).code}): a read-only hierarchy cannot hold a test group`);
  }
  return dir;
}

/** Kills what is left in the group (only the group this test made), then removes it. */
export async function removeGroup(group: string): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    let pids: number[] = [];
    try {
      pids = fs.readFileSync(path.join(group, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
    } catch {
      return; // already gone
    }
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* exited meanwhile */
      }
    }
    try {
      fs.rmdirSync(group);
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw new Error(`could not remove the test's cgroup ${group}`);
}

/** This process's memory cgroup (v1 or v2) read plainly from its files: usage, inactive file pages,
 *  the limit (the group's and its ancestors' lowest; null when unlimited) and the OOM kill count. */
export function readOwnMemoryGroup(): { usage: number; inactiveFile: number; limit: number | null; oomKills: number } {
  const cgroup = fs.readFileSync('/proc/self/cgroup', 'utf8');
  const v1 = /^\d+:memory:(.*)$/m.exec(cgroup);
  const dir = v1 ? path.join('/sys/fs/cgroup/memory', v1[1]) : path.join('/sys/fs/cgroup', /^0::(.*)$/m.exec(cgroup)![1]);
  const read = (name: string) => fs.readFileSync(path.join(dir, name), 'utf8');
  const keyed = (text: string, key: string) =>
    Number(
      text
        .split('\n')
        .find((l) => l.split(' ')[0] === key)
        ?.split(' ')[1],
    );
  const stat = read('memory.stat');
  const limitText = read(v1 ? 'memory.limit_in_bytes' : 'memory.max').trim();
  const raw = v1 ? Math.min(Number(limitText), keyed(stat, 'hierarchical_memory_limit')) : limitText === 'max' ? Infinity : Number(limitText);
  return {
    usage: Number(read(v1 ? 'memory.usage_in_bytes' : 'memory.current')),
    inactiveFile: keyed(stat, v1 ? 'total_inactive_file' : 'inactive_file'),
    limit: raw >= 2 ** 62 ? null : raw,
    oomKills: keyed(read(v1 ? 'memory.oom_control' : 'memory.events'), 'oom_kill'),
  };
}
