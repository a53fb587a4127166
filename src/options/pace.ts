/**
 * How fast a release gives memory back: one grammar and one floor for releaseToOS({ pace }),
 * createProbe's autoRelease.pace and SOCKPROBE_AUTO_RELEASE=paced[:<MiB/s>].
 *   false: unpaced; true: DEFAULT_PACE_BYTES_PER_SECOND; { bytesPerSecond }: that budget (the
 *   default where it is left out), a finite number of at least MIN_PACE_BYTES_PER_SECOND.
 */
import { SockprobeTypeError } from '../errors';

/** What a caller may write for a pace. */
export type PaceOption = boolean | { bytesPerSecond?: number };

/** The default budget of a paced release: 250 MiB back after a 5000-connection spike in ~4 s. */
export const DEFAULT_PACE_BYTES_PER_SECOND = 64 * 1024 * 1024;
/** Below 1 MiB/s a release after a spike would take minutes. */
export const MIN_PACE_BYTES_PER_SECOND = 1024 * 1024;
export const PACE_RATE_RANGE = `a finite number of at least ${MIN_PACE_BYTES_PER_SECOND} (1 MiB/s)`;

/** Why `rate` is not a usable bytesPerSecond, as the coded error to throw; null where it is. */
export function paceRateProblem(name: string, rate: unknown): SockprobeTypeError | null {
  if (typeof rate !== 'number') return new SockprobeTypeError(name, PACE_RATE_RANGE, rate, 'ERR_INVALID_ARG_TYPE');
  if (!Number.isFinite(rate) || rate < MIN_PACE_BYTES_PER_SECOND) return new SockprobeTypeError(name, PACE_RATE_RANGE, rate, 'ERR_INVALID_ARG_VALUE');
  return null;
}

/** The pace `value` asks for (`fallback` where it is undefined), or false for none; throws a coded error for anything else. */
export function paceOption(name: string, value: unknown, fallback: boolean): { bytesPerSecond: number } | false {
  const pace = value === undefined ? fallback : value;
  if (pace === false) return false;
  if (pace === true) return { bytesPerSecond: DEFAULT_PACE_BYTES_PER_SECOND };
  if (typeof pace !== 'object' || pace === null) throw new SockprobeTypeError(name, 'a boolean or { bytesPerSecond }', pace);
  const rate = (pace as { bytesPerSecond?: unknown }).bytesPerSecond ?? DEFAULT_PACE_BYTES_PER_SECOND;
  const problem = paceRateProblem(`${name}.bytesPerSecond`, rate);
  if (problem) throw problem;
  return { bytesPerSecond: rate as number };
}
