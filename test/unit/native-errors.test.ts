// The seam rebuilds the addon's coded errors as SockprobeErrors carrying the JS caller's stack,
// for synchronous throws and for promises the threadpool rejects later.
import { afterEach, describe, expect, it } from 'vitest';
import { SockprobeError, SockprobeTypeError } from '../../src/errors';
import { native, setNativeForTesting, type NativeBinding } from '../../src/native';

function coded(message: string, code: string, extra: Record<string, unknown> = {}, type = false): Error {
  return Object.assign(type ? new TypeError(message) : new Error(message), { code, ...extra });
}

function fakeWith(calls: Partial<Record<keyof NativeBinding, unknown>>): NativeBinding {
  return { platform: 'linux', ...calls } as unknown as NativeBinding;
}

describe('errors across the native seam', () => {
  afterEach(() => setNativeForTesting(undefined));

  it('rebuilds a synchronous coded error with errno and syscall, stack from the caller', () => {
    setNativeForTesting(
      fakeWith({
        tcpProbe: () => {
          throw coded('getsockopt: Bad file descriptor', 'ERR_SYSCALL', { errno: 9, syscall: 'getsockopt' });
        },
      }),
    );
    function callerOfTcpProbe() {
      return native().tcpProbe(99, new Uint8Array(8));
    }
    let thrown: unknown;
    try {
      callerOfTcpProbe();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(SockprobeError);
    expect(thrown).toMatchObject({ code: 'ERR_SYSCALL', errno: 9, syscall: 'getsockopt', message: 'getsockopt: Bad file descriptor' });
    expect((thrown as Error).stack!.split('\n')[0]).toBe('SockprobeError: getsockopt: Bad file descriptor');
    expect((thrown as Error).stack).toMatch(/callerOfTcpProbe/);
  });

  it('keeps the caller in the stack of a rejection that arrives after the call returned', async () => {
    setNativeForTesting(
      fakeWith({
        allocatorNumbersAsync: () =>
          new Promise((_, reject) =>
            setTimeout(() => reject(coded('jemalloc is not the allocator serving malloc in this process', 'ERR_ALLOCATOR_NOT_SERVING')), 5),
          ),
      }),
    );
    async function readsJemallocFigures() {
      return native().allocatorNumbersAsync('jemalloc');
    }
    const error = await readsJemallocFigures().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SockprobeError);
    expect(error).toMatchObject({ code: 'ERR_ALLOCATOR_NOT_SERVING' });
    expect((error as Error).stack).toMatch(/readsJemallocFigures/);
  });

  it('keeps a coded TypeError a TypeError, word for word', () => {
    setNativeForTesting(
      fakeWith({
        releaseThreadCache: () => {
          throw coded('Expected a string for kind', 'ERR_INVALID_ARG_TYPE', {}, true);
        },
      }),
    );
    let thrown: unknown;
    try {
      native().releaseThreadCache(5 as unknown as string);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(SockprobeTypeError);
    expect(thrown).toBeInstanceOf(TypeError);
    expect(thrown).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE', message: 'Expected a string for kind' });
  });

  it('lets an error without a documented code through untouched', () => {
    const bug = new RangeError('Maximum call stack size exceeded');
    setNativeForTesting(
      fakeWith({
        mallinfo2: () => {
          throw bug;
        },
      }),
    );
    expect(() => native().mallinfo2()).toThrow(bug);
    const odd = coded('odd', 'ERR_SOMETHING_ELSE');
    setNativeForTesting(
      fakeWith({
        mallinfo2: () => {
          throw odd;
        },
      }),
    );
    expect(() => native().mallinfo2()).toThrow(odd);
  });

  it('passes values and resolved promises through unchanged', async () => {
    const figures = { 'stats.allocated': 1 };
    setNativeForTesting(fakeWith({ allocatorNumbersAsync: async () => figures, shrinkV8Heap: () => true }));
    expect(native().shrinkV8Heap()).toBe(true);
    expect(await native().allocatorNumbersAsync('jemalloc')).toBe(figures);
  });
});
