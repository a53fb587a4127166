/**
 * Memory cgroups made by system tests: this process's own v1 memory group (root and a writable
 * hierarchy needed: the reason otherwise), and removal of a group the test made, also on failure.
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
