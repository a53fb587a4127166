/** Parsers for the memory cgroup's interface files (cgroup v1 and v2): pure, over the text. */

/** A file's text, or why it could not be read (the errno code, e.g. ENOENT, EACCES). */
export type FileRead = string | { error: string };

/**
 * Values at or above 2^62 bytes mean "no limit": cgroup v1 shows its unlimited counter as
 * PAGE_COUNTER_MAX pages (9223372036854771712 with 4 KiB pages, another figure with 64 KiB
 * pages); no machine has 4 EiB to limit.
 */
const UNLIMITED_FROM = 2n ** 62n;

export type ParsedBytes = { bytes: number } | { unlimited: true } | { invalid: string };

/** A single-value file (memory.max, memory.current, memory.limit_in_bytes...): bytes, `max`, or a reason. */
export function parseBytes(text: string): ParsedBytes {
  const value = text.trim();
  if (value === 'max') return { unlimited: true };
  if (!/^\d+$/.test(value)) return { invalid: `reads ${JSON.stringify(value.slice(0, 40))}, not a byte count or "max"` };
  const big = BigInt(value);
  if (big >= UNLIMITED_FROM) return { unlimited: true };
  return { bytes: Number(big) };
}

/** A flat-keyed file (memory.stat, memory.events, memory.oom_control): `key value` lines. */
export function parseFlatKeyed(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^(\S+)\s+(\d+)\s*$/.exec(line);
    if (!match) continue;
    // Counters past 2^53 (an "unlimited" hierarchical_memory_limit) are kept as Infinity, not rounded.
    const big = BigInt(match[2]);
    values.set(match[1], big > BigInt(Number.MAX_SAFE_INTEGER) ? Number.POSITIVE_INFINITY : Number(big));
  }
  return values;
}

export interface PressureLine {
  /** Share of wall time (percent) some/all tasks stalled on memory over the last 10, 60, 300 s. */
  avg10: number;
  avg60: number;
  avg300: number;
  /** Total stall time, microseconds. */
  totalMicros: number;
}

export interface MemoryPressure {
  some: PressureLine;
  /** Absent on kernels before the `full` line existed for this resource. */
  full: PressureLine | null;
}

/** A PSI file (memory.pressure, /proc/pressure/memory): `some avg10=… avg60=… avg300=… total=…`. */
export function parsePressure(text: string): MemoryPressure | null {
  const lines = new Map<string, PressureLine>();
  for (const line of text.split('\n')) {
    const match = /^(some|full) avg10=([\d.]+) avg60=([\d.]+) avg300=([\d.]+) total=(\d+)\s*$/.exec(line);
    if (match) lines.set(match[1], { avg10: Number(match[2]), avg60: Number(match[3]), avg300: Number(match[4]), totalMicros: Number(match[5]) });
  }
  const some = lines.get('some');
  return some ? { some, full: lines.get('full') ?? null } : null;
}

/** Why a file gave no figure, in words. */
export const readFailure = (file: string, read: { error: string }) => `${file} could not be read (${read.error})`;
