/**
 * The native heap profiler's mean bytes between samples: one range and one default for every entry
 * point (nativeHeap.start()/session(), createProbe's nativeHeapProfile, SOCKPROBE_NATIVE_HEAP, the
 * CLI's --native-sample-bytes), so a value one of them takes is taken by all.
 */
import { SockprobeTypeError } from '../errors';

/** 512 KiB: a long-lived service's holders show within minutes at a cost below the noise (docs/benchmarks.md). */
export const DEFAULT_SAMPLE_BYTES = 512 * 1024;
/** Below 1 KiB nearly every allocation is sampled: the profile costs the service more than it tells. */
export const MIN_SAMPLE_BYTES = 1024;
/** Above 1 GiB a profile holds too few samples to name a holder. */
export const MAX_SAMPLE_BYTES = 2 ** 30;
export const SAMPLE_BYTES_RANGE = `an integer from ${MIN_SAMPLE_BYTES} to ${MAX_SAMPLE_BYTES} (1 KiB to 1 GiB)`;

/** Why `value` is not a usable sampleBytes, as the coded error to throw; null where it is. */
export function sampleBytesProblem(name: string, value: unknown): SockprobeTypeError | null {
  if (typeof value !== 'number') return new SockprobeTypeError(name, SAMPLE_BYTES_RANGE, value, 'ERR_INVALID_ARG_TYPE');
  if (!Number.isInteger(value) || value < MIN_SAMPLE_BYTES || value > MAX_SAMPLE_BYTES)
    return new SockprobeTypeError(name, SAMPLE_BYTES_RANGE, value, 'ERR_INVALID_ARG_VALUE');
  return null;
}

/** `value`, or DEFAULT_SAMPLE_BYTES where it is undefined; throws the coded error of sampleBytesProblem. */
export function sampleBytesOption(name: string, value: unknown): number {
  if (value === undefined) return DEFAULT_SAMPLE_BYTES;
  const problem = sampleBytesProblem(name, value);
  if (problem) throw problem;
  return value as number;
}

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, kb: 1024, kib: 1024, m: 1024 * 1024, mb: 1024 * 1024, mib: 1024 * 1024 };

/** A size as an operator writes it (`65536`, `64k`, `128 KiB`, `1.5m`) in bytes, rounded; NaN for any other
 *  text, and for a fraction of a byte (`4096.5`: a fraction takes a unit, as the API takes whole bytes). */
export function parseSize(text: string): number {
  const size = /^(\d+(\.\d+)?)\s*([a-z]*)$/.exec(text.trim().toLowerCase());
  if (!size || !(size[3] in SIZE_UNITS) || (size[2] !== undefined && size[3] === '')) return Number.NaN;
  return Math.round(Number(size[1]) * SIZE_UNITS[size[3]]);
}
