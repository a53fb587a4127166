/**
 * Byte counts for people, written the same way by the library's findings and the CLI: binary units
 * (1 KiB = 1024 bytes, 1 MiB = 1024 KiB), one decimal.
 *
 * - A negative figure keeps its sign as written by Number.prototype.toFixed (`-1.5 MiB`, ASCII
 *   hyphen-minus, so logs grep the same); `signedKib` writes a sign on every figure (`+1.5 KiB`,
 *   `-1.5 KiB`) where the figure is a growth.
 * - null, undefined, NaN and ±Infinity are not a measurement: they read as the `missing` text
 *   (default `n/a`), never as 0 and never as `NaN MiB`.
 */
export const KIB = 1024;
export const MIB = 1024 * KIB;

/** A figure that may be absent: null/undefined where the source did not measure it. */
export type MaybeBytes = number | null | undefined;

const measured = (bytes: MaybeBytes): bytes is number => typeof bytes === 'number' && Number.isFinite(bytes);

/** The figure in MiB without its unit (`12.3`), for a column whose header names the unit. */
export function mibFigure(bytes: MaybeBytes, missing = 'n/a'): string {
  return measured(bytes) ? (bytes / MIB).toFixed(1) : missing;
}

/** The figure in KiB without its unit (`12.3`), for a column whose header names the unit. */
export function kibFigure(bytes: MaybeBytes, missing = 'n/a'): string {
  return measured(bytes) ? (bytes / KIB).toFixed(1) : missing;
}

/** `12.3 MiB`. */
export function mib(bytes: MaybeBytes, missing = 'n/a'): string {
  return measured(bytes) ? `${mibFigure(bytes)} MiB` : missing;
}

/** `12.3 KiB`. */
export function kib(bytes: MaybeBytes, missing = 'n/a'): string {
  return measured(bytes) ? `${kibFigure(bytes)} KiB` : missing;
}

/** Whole bytes under 1 KiB either side of zero (`312 B`, `-40 B`), else KiB: a small per-connection figure does not read 0.3 KiB. */
export function kibOrBytes(bytes: MaybeBytes, missing = 'n/a'): string {
  if (!measured(bytes)) return missing;
  return Math.abs(bytes) < KIB ? `${Math.round(bytes)} B` : kib(bytes);
}

/** A growth in KiB with its sign always written: `+12.3 KiB`, `-0.4 KiB`, `+0.0 KiB` for no change. */
export function signedKib(bytes: MaybeBytes, missing = 'n/a'): string {
  if (!measured(bytes)) return missing;
  return `${bytes < 0 ? '-' : '+'}${kib(Math.abs(bytes))}`;
}
