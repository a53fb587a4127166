/**
 * The memory cgroup's event counters watched: an OOM kill of any process in the group, or a
 * breach of memory.high / the limit, is seen within a poll interval (v1) or as the kernel's
 * modify notification arrives (v2), and recorded with the limit and working set at that moment.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { interpretMemoryCgroup, type ContainerMemoryEvents } from './interpret';
import { HEADROOM_FILES, locateOwnMemoryCgroup, readMemoryCgroup, readSmall } from './memory';
import { parseBytes, parseFlatKeyed } from './parse';
import type { CgroupLocation } from './locate';

export type MemoryEventCounter = keyof ContainerMemoryEvents;

/** Notifications closer together than this are read once (v2). */
const NOTIFY_MIN_MS = 100;

/** One counter that moved, and the group's state when it was seen. */
export interface MemoryEventRecord {
  /** When the move was seen, ms since the epoch. */
  time: number;
  counter: MemoryEventCounter;
  from: number;
  to: number;
  /** The file and key it was read from, e.g. `memory.oom_control oom_kill`. */
  source: string;
  /** How it was seen: `inotify` (v2 memory.events modify event) or `poll <ms> ms`. */
  method: string;
  /** The group's limit, usage and working set read right after (null where unread, see containerMemory()). */
  limitBytes: number | null;
  usageBytes: number | null;
  workingSetBytes: number | null;
}

const V2_KEYS: Record<string, MemoryEventCounter> = { low: 'low', high: 'high', max: 'max', oom: 'oom', oom_kill: 'oomKill', oom_group_kill: 'oomGroupKill' };

const V2_NAME = Object.fromEntries(Object.entries(V2_KEYS).map(([file, counter]) => [counter, file])) as Record<MemoryEventCounter, string>;

/**
 * The counters alone, read straight from their files (two small reads on v1, one on v2: ~30 µs
 * each, half of what the full interpretation costs). Null when none could be read.
 */
export function readEventCounters(location: CgroupLocation): ContainerMemoryEvents | null {
  const events: ContainerMemoryEvents = { low: null, high: null, max: null, oom: null, oomKill: null, oomGroupKill: null };
  if (location.version === 2) {
    const text = readSmall(path.join(location.directory, 'memory.events'));
    if (typeof text !== 'string') return null;
    for (const [key, value] of parseFlatKeyed(text)) if (key in V2_KEYS) events[V2_KEYS[key]] = value;
  } else {
    const failcnt = readSmall(path.join(location.directory, 'memory.failcnt'));
    const oom = readSmall(path.join(location.directory, 'memory.oom_control'));
    if (typeof failcnt === 'string') {
      const parsed = parseBytes(failcnt);
      if ('bytes' in parsed) events.max = parsed.bytes;
    }
    if (typeof oom === 'string') events.oomKill = parseFlatKeyed(oom).get('oom_kill') ?? null;
  }
  return Object.values(events).some((v) => v !== null) ? events : null;
}

/** Counters that moved between two readings (a counter that went down was reset: not a move). */
export function movedCounters(before: ContainerMemoryEvents, after: ContainerMemoryEvents): Array<{ counter: MemoryEventCounter; from: number; to: number }> {
  const moved: Array<{ counter: MemoryEventCounter; from: number; to: number }> = [];
  for (const counter of Object.keys(after) as MemoryEventCounter[]) {
    const from = before[counter];
    const to = after[counter];
    if (from !== null && to !== null && to > from) moved.push({ counter, from, to });
  }
  return moved;
}

export interface MemoryEventsWatch {
  /** `inotify`, `poll <ms> ms`, or null when nothing is watched (see `unavailable`). */
  method: string | null;
  unavailable: string | null;
  /** Reads and the time they held the JS thread, ms (the watch's own cost). */
  cost(): { reads: number; totalMs: number; maxMs: number };
  /** The counters as last read (the kernel's totals since the group was made); null when nothing is watched. */
  counters(): ContainerMemoryEvents | null;
  stop(): void;
}

export interface WatchMemoryEventsOptions {
  /** Poll interval where no notification is used (v1, or v2 when inotify fails). Default 250 ms. */
  intervalMs?: number;
  /** v2 only: poll even though inotify works (tests). */
  forcePoll?: boolean;
}

/**
 * Watches this process's memory cgroup's event counters and calls `onEvent` for each that
 * moves. v2: fs.watch (inotify) on memory.events, whose every change the kernel signals as a
 * modify event; v1 has no such file: memory.failcnt and memory.oom_control are polled (v1's
 * eventfd interface needs an eventfd Node cannot make without native code, and it only says
 * "an OOM happened", not which counter moved). Never throws: an unreadable group returns a watch
 * with `unavailable` set.
 */
export function watchMemoryEvents(onEvent: (record: MemoryEventRecord) => void, options: WatchMemoryEventsOptions = {}): MemoryEventsWatch {
  try {
    const located = locateOwnMemoryCgroup();
    if ('reason' in located) return idleWatch(located.reason);
    return watchMemoryEventsAt(located.location, onEvent, options);
  } catch (error) {
    return idleWatch(`locating the memory cgroup failed: ${(error as Error).message}`);
  }
}

const idleWatch = (unavailable: string): MemoryEventsWatch => ({
  method: null,
  unavailable,
  cost: () => ({ reads: 0, totalMs: 0, maxMs: 0 }),
  counters: () => null,
  stop() {},
});

/** watchMemoryEvents() on a given group's directory. */
export function watchMemoryEventsAt(
  location: CgroupLocation,
  onEvent: (record: MemoryEventRecord) => void,
  options: WatchMemoryEventsOptions = {},
): MemoryEventsWatch {
  const intervalMs = options.intervalMs ?? 250;
  const cost = { reads: 0, totalMs: 0, maxMs: 0 };
  const idle = idleWatch;
  const read = (): ContainerMemoryEvents | null => {
    const started = performance.now();
    try {
      return readEventCounters(location);
    } catch {
      return null;
    } finally {
      const ms = performance.now() - started;
      cost.reads++;
      cost.totalMs += ms;
      cost.maxMs = Math.max(cost.maxMs, ms);
    }
  };
  let last = read();
  if (last === null) {
    const file = location.version === 2 ? 'memory.events' : 'memory.failcnt and memory.oom_control';
    return idle(`${file} in ${location.directory} could not be read`);
  }
  let method = '';
  let stopped = false;
  const check = () => {
    if (stopped) return;
    const now = read();
    if (now === null) return;
    const moved = movedCounters(last!, now);
    last = now;
    if (!moved.length) return;
    const time = Date.now();
    let state: { limitBytes: number | null; usageBytes: number | null; workingSetBytes: number | null } = {
      limitBytes: null,
      usageBytes: null,
      workingSetBytes: null,
    };
    try {
      state = interpretMemoryCgroup(readMemoryCgroup(location, HEADROOM_FILES));
    } catch {
      // The figures stay null: the event itself is what matters.
    }
    for (const m of moved) {
      const source = location.version === 2 ? `memory.events ${V2_NAME[m.counter]}` : m.counter === 'max' ? 'memory.failcnt' : 'memory.oom_control oom_kill';
      try {
        onEvent({ time, ...m, source, method, limitBytes: state.limitBytes, usageBytes: state.usageBytes, workingSetBytes: state.workingSetBytes });
      } catch {
        // A listener's error is the listener's: the watch goes on.
      }
    }
  };
  // The kernel signals memory.events at most every 10 ms (cgroup_file_notify); a group throttled
  // above memory.high could signal that often for minutes. Reads are coalesced to one per
  // NOTIFY_MIN_MS, the last notification always followed by a read.
  let lastCheck = -Infinity;
  let pending: NodeJS.Timeout | null = null;
  const notified = () => {
    const wait = lastCheck + NOTIFY_MIN_MS - performance.now();
    if (wait <= 0) {
      lastCheck = performance.now();
      return check();
    }
    pending ??= setTimeout(() => {
      pending = null;
      lastCheck = performance.now();
      check();
    }, wait);
    pending.unref();
  };
  let watcher: fs.FSWatcher | null = null;
  if (location.version === 2 && !options.forcePoll) {
    try {
      watcher = fs.watch(path.join(location.directory, 'memory.events'), { persistent: false }, notified);
      watcher.on('error', () => {
        watcher?.close();
        watcher = null;
        startPolling();
      });
      method = 'inotify';
    } catch {
      watcher = null;
    }
  }
  let timer: NodeJS.Timeout | null = null;
  function startPolling() {
    if (stopped) return;
    method = `poll ${intervalMs} ms`;
    timer ??= setInterval(check, intervalMs);
    timer.unref();
  }
  if (!watcher) startPolling();
  return {
    get method() {
      return method;
    },
    unavailable: null,
    cost: () => ({ ...cost }),
    counters: () => ({ ...last! }),
    stop() {
      stopped = true;
      if (pending) clearTimeout(pending);
      watcher?.close();
      watcher = null;
      if (timer) clearInterval(timer);
      timer = null;
    },
  };
}
