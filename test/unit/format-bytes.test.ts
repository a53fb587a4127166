import { describe, expect, it } from 'vitest';
import * as cli from '../../src/cli/format';
import { KIB, kib, kibFigure, kibOrBytes, MIB, mib, mibFigure, signedKib } from '../../src/format/bytes';

describe('byte formatter (src/format/bytes.ts)', () => {
  it('writes binary units with one decimal', () => {
    expect(mib(1.5 * MIB)).toBe('1.5 MiB');
    expect(mib(0)).toBe('0.0 MiB');
    expect(kib(1536)).toBe('1.5 KiB');
    expect(mibFigure(10 * MIB + 52429)).toBe('10.1');
    expect(kibFigure(KIB / 2)).toBe('0.5');
  });

  it('keeps the sign of a negative figure as toFixed writes it', () => {
    expect(mib(-1.5 * MIB)).toBe('-1.5 MiB');
    expect(kib(-2048)).toBe('-2.0 KiB');
    // A shrink too small for one decimal still says it was a shrink.
    expect(kib(-10)).toBe('-0.0 KiB');
    expect(mibFigure(-MIB)).toBe('-1.0');
  });

  it('writes whole bytes under 1 KiB either side of zero, KiB from there', () => {
    expect(kibOrBytes(312.4)).toBe('312 B');
    expect(kibOrBytes(-40)).toBe('-40 B');
    expect(kibOrBytes(KIB - 1)).toBe('1023 B');
    expect(kibOrBytes(KIB)).toBe('1.0 KiB');
    expect(kibOrBytes(-KIB)).toBe('-1.0 KiB');
  });

  it('writes a growth with its sign always, zero as a rise of nothing', () => {
    expect(signedKib(1536)).toBe('+1.5 KiB');
    expect(signedKib(-1536)).toBe('-1.5 KiB');
    expect(signedKib(-10)).toBe('-0.0 KiB');
    expect(signedKib(0)).toBe('+0.0 KiB');
    expect(signedKib(-0)).toBe('+0.0 KiB');
  });

  it('reads null, undefined and non-finite figures as missing, never as 0 or NaN', () => {
    for (const format of [mib, kib, mibFigure, kibFigure, kibOrBytes, signedKib]) {
      for (const absent of [null, undefined, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
        expect(format(absent)).toBe('n/a');
        expect(format(absent, '—')).toBe('—');
      }
    }
  });

  it('is the formatter the CLI uses', () => {
    expect(cli.mib).toBe(mib);
    expect(cli.kib).toBe(kib);
  });
});
