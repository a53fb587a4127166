import { describe, expect, it } from 'vitest';
import { SockprobeRangeError } from '../../src/errors';
import { ROW } from '../../src/net/layout';
import { SocketRows } from '../../src/net/snapshot-rows';

describe('SocketRows.at', () => {
  it('refuses an index outside the rows with a coded RangeError', () => {
    const rows = new SocketRows(new ArrayBuffer(ROW.bytes * 2), 2, false);
    for (const index of [-1, 2, 1.5, Number.NaN]) {
      let thrown: unknown;
      try {
        rows.at(index);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(SockprobeRangeError);
      expect(thrown).toBeInstanceOf(RangeError);
      expect(thrown).toMatchObject({ code: 'ERR_OUT_OF_RANGE', message: `Expected an integer from 0 to 1 for i but received number ${index}` });
    }
    expect(() => new SocketRows(new ArrayBuffer(0), 0, false).at(0)).toThrow(/no index \(the snapshot has no rows\)/);
  });
});
