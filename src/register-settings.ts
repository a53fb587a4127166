/**
 * What sockprobe/register reads from the environment, as probe options. A value that cannot be
 * read is named through `say` with what was expected, and that setting keeps its default.
 */
import type { AutoReleaseOptions } from './probe/auto-release';
import type { ProbeOptions } from './probe/probe';
import { MIN_PACE_BYTES_PER_SECOND, paceRateProblem } from './options/pace';
import { MAX_SAMPLE_BYTES, MIN_SAMPLE_BYTES, parseSize, sampleBytesProblem } from './options/sample-bytes';

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
  const bytesPerSecond = paced ? Math.round(Number(paced[1]) * MIB) : Number.NaN;
  if (paced && !paceRateProblem('SOCKPROBE_AUTO_RELEASE', bytesPerSecond)) return { pace: { bytesPerSecond } };
  if (value === undefined || value === '' || ON.includes(word) || OFF.includes(word)) return switchFrom('SOCKPROBE_AUTO_RELEASE', value, say);
  say(
    `SOCKPROBE_AUTO_RELEASE=${JSON.stringify(value)} is not one of 1/true/yes/on, 0/false/no/off, paced or ` +
      `paced:<MiB per second, at least ${MIN_PACE_BYTES_PER_SECOND / MIB}>; leaving it off`,
  );
  return false;
}

const HEAP_EXPECTED =
  `one of 1/true/yes/on, 0/false/no/off or a mean sample size in bytes from ${MIN_SAMPLE_BYTES} ` +
  `to ${MAX_SAMPLE_BYTES} (a number, or with k/KiB or m/MiB: 64k, 1MiB)`;

/**
 * SOCKPROBE_NATIVE_HEAP: the switch words (on: the 512 KiB default), or the mean bytes between
 * samples — smaller is finer (a holder's error is 1/√samples) and costs more; with
 * SOCKPROBE_NATIVE_HEAP_INTERVAL_MS, how often the probe takes a profile (from 1000, default 60 000).
 */
function nativeHeapFrom(value: string | undefined, intervalValue: string | undefined, say: Say): ProbeOptions['nativeHeapProfile'] {
  const word = (value ?? '').trim().toLowerCase();
  let on: boolean;
  let sampleBytes: number | undefined;
  const size = parseSize(word);
  if (value === undefined || word === '' || OFF.includes(word)) on = false;
  else if (ON.includes(word)) on = true;
  else if (!sampleBytesProblem('SOCKPROBE_NATIVE_HEAP', size)) {
    on = true;
    sampleBytes = size;
  } else {
    say(`SOCKPROBE_NATIVE_HEAP=${JSON.stringify(value)} is not ${HEAP_EXPECTED}; leaving it off`);
    on = false;
  }
  let intervalMs: number | undefined;
  if (intervalValue !== undefined && intervalValue !== '') {
    const trimmed = intervalValue.trim();
    if (!on) say(`SOCKPROBE_NATIVE_HEAP_INTERVAL_MS=${JSON.stringify(intervalValue)} is ignored: SOCKPROBE_NATIVE_HEAP is off`);
    else if (/^\d+$/.test(trimmed) && Number(trimmed) >= 1000 && Number(trimmed) <= 2 ** 31 - 1) intervalMs = Number(trimmed);
    else say(`SOCKPROBE_NATIVE_HEAP_INTERVAL_MS=${JSON.stringify(intervalValue)} is not a whole number of milliseconds from 1000; profiling every 60000 ms`);
  }
  if (!on) return false;
  if (sampleBytes === undefined && intervalMs === undefined) return true;
  return { ...(sampleBytes !== undefined ? { sampleBytes } : {}), ...(intervalMs !== undefined ? { intervalMs } : {}) };
}

/** SOCKPROBE_MEMORY_LIMIT: `cgroup`, or a byte count (`536870912`, `512MiB`, `1.5GiB`) of at least 1 MiB. */
function memoryLimitFrom(value: string | undefined, say: Say): AutoReleaseOptions['memoryLimit'] | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const word = value.trim();
  if (word.toLowerCase() === 'cgroup') return 'cgroup';
  const match = /^(\d+(?:\.\d+)?)\s*(MiB|GiB)?$/i.exec(word);
  const bytes = match ? Math.round(Number(match[1]) * (match[2]?.toLowerCase() === 'gib' ? 1024 * MIB : match[2] ? MIB : 1)) : NaN;
  if (bytes >= MIB && (match![2] !== undefined || /^\d+$/.test(word))) return bytes;
  say(`SOCKPROBE_MEMORY_LIMIT=${JSON.stringify(value)} is not cgroup or a size of at least 1 MiB (bytes, or <n>MiB, <n>GiB); no limit-aware release`);
  return undefined;
}

/** autoRelease from SOCKPROBE_AUTO_RELEASE, made limit-aware by SOCKPROBE_MEMORY_LIMIT (which turns it on unless it is set off). */
function limitAwareFrom(env: NodeJS.ProcessEnv, say: Say): boolean | AutoReleaseOptions {
  const autoRelease = autoReleaseFrom(env.SOCKPROBE_AUTO_RELEASE, say);
  const memoryLimit = memoryLimitFrom(env.SOCKPROBE_MEMORY_LIMIT, say);
  if (memoryLimit === undefined) return autoRelease;
  if (autoRelease === false && OFF.includes((env.SOCKPROBE_AUTO_RELEASE ?? '').trim().toLowerCase())) {
    say(`SOCKPROBE_MEMORY_LIMIT=${JSON.stringify(env.SOCKPROBE_MEMORY_LIMIT)} is not used: SOCKPROBE_AUTO_RELEASE turns autoRelease off`);
    return false;
  }
  return { ...(typeof autoRelease === 'object' ? autoRelease : {}), memoryLimit };
}

export function settingsFromEnvironment(env: NodeJS.ProcessEnv, say: Say): ProbeOptions {
  return {
    intervalMs: intervalFrom(env.SOCKPROBE_INTERVAL_MS, say),
    autoRelease: limitAwareFrom(env, say),
    opensslTracking: switchFrom('SOCKPROBE_OPENSSL', env.SOCKPROBE_OPENSSL, say),
    nativeHeapProfile: nativeHeapFrom(env.SOCKPROBE_NATIVE_HEAP, env.SOCKPROBE_NATIVE_HEAP_INTERVAL_MS, say),
  };
}

/** SOCKPROBE_WORKERS: whether a worker thread that loads sockprobe/register (Node passes `-r` and
 *  `--import` on to workers) starts a probe of its own. Default off: the main thread's probe only. */
export function workersFromEnvironment(env: NodeJS.ProcessEnv, say: Say): boolean {
  return switchFrom('SOCKPROBE_WORKERS', env.SOCKPROBE_WORKERS, say);
}

/** SOCKPROBE_RELEASE_ON_REPORT: whether each SIGUSR2 runs releaseToOS() before the report (default off). */
export function releaseOnReportFromEnvironment(env: NodeJS.ProcessEnv, say: Say): boolean {
  return switchFrom('SOCKPROBE_RELEASE_ON_REPORT', env.SOCKPROBE_RELEASE_ON_REPORT, say);
}
