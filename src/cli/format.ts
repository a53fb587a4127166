// Byte counts read the same in the CLI as in the library's findings: one formatter, src/format/bytes.ts.
export { kib, kibOrBytes, mib, signedKib } from '../format/bytes';

/** A plain text table with a header row, columns padded to their widest cell. */
export function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)));
  return rows.map((row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ')).join('\n');
}
