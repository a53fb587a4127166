/**
 * What sockprobe/register reads from the environment, as probe options. A value that cannot be
 * read is named through `say` with what was expected, and that setting keeps its default.
 */
import type { AutoReleaseOptions } from './probe/auto-release';
import type { ProbeOptions } from './probe/probe';

export type Say = (line: string) => void;

const ON = ['1', 'true', 'yes', 'on'];
const OFF = ['0', 'false', 'no', 'off'];
const MIB = 1024 * 1024;

function intervalFrom(value: string | undefined, say: Say): number {
  if (value === undefined) return 1000;
  const interval = Number(value);
  if (/^\d+$/.test(value.trim()) && interval >= 10) return interval;
  say(`SOCKPROBE_INTERVAL_MS=${JSON.stringify(value)} is not a whole number of milliseconds from 10; sampling every 1000 ms`);
  return 1000;
}

function switchFrom(name: string, value: string | undefined, say: Say): boolean {
  if (value === undefined || value === '') return false;
  const word = value.trim().toLowerCase();
  if (ON.includes(word)) return true;
  if (OFF.includes(word)) return false;
  say(`${name}=${JSON.stringify(value)} is not one of 1/true/yes/on or 0/false/no/off; leaving it off`);
  return false;
}

/** The switch words, or `paced` (64 MiB/s) / `paced:<MiB per second>` for a paced autoRelease. */
function autoReleaseFrom(value: string | undefined, say: Say): boolean | AutoReleaseOptions {
  const word = (value ?? '').trim().toLowerCase();
  if (word === 'paced') return { pace: true };
  const paced = /^paced:\s*(\d+(?:\.\d+)?)$/.exec(word);
  if (paced && Number(paced[1]) >= 1) return { pace: { bytesPerSecond: Math.round(Number(paced[1]) * MIB) } };
  if (value === undefined || value === '' || ON.includes(word) || OFF.includes(word)) return switchFrom('SOCKPROBE_AUTO_RELEASE', value, say);
  say(`SOCKPROBE_AUTO_RELEASE=${JSON.stringify(value)} is not one of 1/true/yes/on, 0/false/no/off, paced or paced:<MiB per second, at least 1>; leaving it off`);
  return false;
}

export function settingsFromEnvironment(env: NodeJS.ProcessEnv, say: Say): ProbeOptions {
  return {
    intervalMs: intervalFrom(env.SOCKPROBE_INTERVAL_MS, say),
    autoRelease: autoReleaseFrom(env.SOCKPROBE_AUTO_RELEASE, say),
    opensslTracking: switchFrom('SOCKPROBE_OPENSSL', env.SOCKPROBE_OPENSSL, say),
    nativeHeapProfile: switchFrom('SOCKPROBE_NATIVE_HEAP', env.SOCKPROBE_NATIVE_HEAP, say),
  };
}

/** SOCKPROBE_WORKERS: whether a worker thread that loads sockprobe/register (Node passes `-r` and
 *  `--import` on to workers) starts a probe of its own. Default off: the main thread's probe only. */
export function workersFromEnvironment(env: NodeJS.ProcessEnv, say: Say): boolean {
  return switchFrom('SOCKPROBE_WORKERS', env.SOCKPROBE_WORKERS, say);
}
