import { describe, expect, it } from 'vitest';
import { ROW } from '../../src/net/layout';
import { SocketRows } from '../../src/net/snapshot-rows';
import { connectionStateValue } from '../../src/opentelemetry';

describe('connectionStateValue', () => {
  it('maps kernel names, lowercases names it has no value for, and never answers with an inherited property', () => {
    expect(connectionStateValue('SYN_RECV')).toBe('syn_received');
    expect(connectionStateValue('BOUND_INACTIVE')).toBe('bound_inactive');
    expect(connectionStateValue('constructor')).toBe('constructor');
    expect(connectionStateValue('toString')).toBe('tostring');
    expect(connectionStateValue('__proto__')).toBe('__proto__');
  });

  it('refuses what is not a string with a coded TypeError', () => {
    for (const value of [5, undefined, null, {}]) {
      expect(() => connectionStateValue(value as never)).toThrow(
        expect.objectContaining({
          name: 'SockprobeTypeError',
          code: 'ERR_INVALID_ARG_TYPE',
          message: expect.stringMatching(/^Expected a TCP state name string .* for kernelName but received/),
        }),
      );
    }
    expect(() => (connectionStateValue as (...args: unknown[]) => string)()).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
  });
});

describe('new SocketRows()', () => {
  it('refuses a buffer, count or bigint it cannot read with coded errors', () => {
    expect(() => new SocketRows(0 as never, 1, false)).toThrow(
      expect.objectContaining({
        name: 'SockprobeTypeError',
        code: 'ERR_INVALID_ARG_TYPE',
        message: 'Expected an ArrayBuffer of packed socket rows for buffer but received number 0',
      }),
    );
    expect(() => new SocketRows(new ArrayBuffer(ROW.bytes), -1, false)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => new SocketRows(new ArrayBuffer(ROW.bytes), '1' as never, false)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => new SocketRows(new ArrayBuffer(ROW.bytes), 2, false)).toThrow(
      expect.objectContaining({
        name: 'SockprobeRangeError',
        code: 'ERR_OUT_OF_RANGE',
        message: expect.stringContaining(`the buffer holds ${ROW.bytes} bytes`),
      }),
    );
    expect(() => new SocketRows(new ArrayBuffer(ROW.bytes), 1, 'no' as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(new SocketRows(new ArrayBuffer(ROW.bytes), 1, false).length).toBe(1);
    expect(new SocketRows(new ArrayBuffer(0), 0, true).length).toBe(0);
  });
});
