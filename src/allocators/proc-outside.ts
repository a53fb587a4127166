/** Another process's figures read from /proc, from outside: RSS, its peak, CPU time, and who listens on which TCP port. */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';

const PAGE = 4096;
let ticks: number | undefined;

/** Clock ticks per second (getconf CLK_TCK; 100 on every Linux this runs on, read once). */
function clockTicks(): number {
  if (ticks === undefined) {
    const text = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim();
    ticks = Number(text) > 0 ? Number(text) : 100;
  }
  return ticks;
}

/** Resident bytes from /proc/PID/statm (its second field, in pages); null once the process is gone. */
export function statmRss(pid: number): number | null {
  try {
    return Number(fs.readFileSync(`/proc/${pid}/statm`, 'latin1').split(' ')[1]) * PAGE;
  } catch {
    return null;
  }
}

/** VmHWM (peak resident) from /proc/PID/status, bytes; null once the process is gone. */
export function peakRss(pid: number): number | null {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** utime + stime from /proc/PID/stat, ms; null once the process is gone. */
export function cpuMs(pid: number): number | null {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // After the command name: state is field 3, utime 14, stime 15 (1-based, proc(5)).
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks();
  } catch {
    return null;
  }
}

/** The process and its descendants (from /proc/PID/task/TID/children, where the kernel has it, else each /proc/N/stat's ppid). */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const text = fs.readFileSync(`/proc/${entry}/stat`, 'latin1');
      const ppid = Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      /* gone meanwhile */
    }
  }
  const tree: number[] = [];
  const queue = [root];
  while (queue.length) {
    const pid = queue.shift()!;
    tree.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return tree;
}

/** Inodes of TCP sockets in LISTEN state by local port, from /proc/net/tcp and tcp6. */
export function listeningInodes(): Map<string, number> {
  const byInode = new Map<string, number>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = fs.readFileSync(file, 'latin1');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== '0A') continue;
      byInode.set(f[9], parseInt(f[1].split(':')[1], 16));
    }
  }
  return byInode;
}

/** Which processes of the tree listen on which TCP ports (their fds matched to the listening sockets' inodes). */
export function listeners(root: number): Array<{ pid: number; port: number }> {
  const inodes = listeningInodes();
  const found: Array<{ pid: number; port: number }> = [];
  for (const pid of processTree(root)) {
    let fds: string[] = [];
    try {
      fds = fs.readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
        const port = m ? inodes.get(m[1]) : undefined;
        if (port !== undefined) found.push({ pid, port });
      } catch {
        /* closed meanwhile */
      }
    }
  }
  return found;
}

/** Whether any process of this group is still alive (kill(-pgid, 0)). */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
