import * as fs from 'node:fs';
import { SockprobeError } from '../errors';

/** Memory figures of this process from /proc/self/status, in bytes. */
export interface ProcStatus {
  rssBytes: number;
  rssAnonBytes: number;
  rssFileBytes: number;
  rssShmemBytes: number;
  peakRssBytes: number;
  threads: number;
}

const kB = (text: string, field: string): number => {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
  return match ? Number(match[1]) * 1024 : NaN;
};

/** Parses /proc/<pid>/status text; exported for tests that feed recorded text. */
export function parseProcStatus(text: string): ProcStatus {
  const threads = /^Threads:\s+(\d+)/m.exec(text);
  return {
    rssBytes: kB(text, 'VmRSS'),
    rssAnonBytes: kB(text, 'RssAnon'),
    rssFileBytes: kB(text, 'RssFile'),
    rssShmemBytes: kB(text, 'RssShmem'),
    peakRssBytes: kB(text, 'VmHWM'),
    threads: threads ? Number(threads[1]) : NaN,
  };
}

/** One read of /proc/self/status (about 30 µs). */
export function procStatus(): ProcStatus {
  let text: string;
  try {
    text = fs.readFileSync('/proc/self/status', 'latin1');
  } catch (error) {
    // No /proc (off Linux), or a runtime that guards it: Deno reads /proc/self only with --allow-all.
    throw new SockprobeError('ERR_UNSUPPORTED', `/proc/self/status could not be read (${(error as Error).message})`, { cause: error });
  }
  return parseProcStatus(text);
}

/** Resident set size from /proc/self/status, in bytes. */
export function rssBytes(): number {
  return procStatus().rssBytes;
}
