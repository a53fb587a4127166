/** Stable error codes; documented in the README. */
export type SockprobeErrorCode =
  | 'ERR_INVALID_ARG_TYPE'
  | 'ERR_INVALID_ARG_VALUE'
  | 'ERR_UNSUPPORTED'
  | 'ERR_NATIVE_UNAVAILABLE'
  | 'ERR_ALLOCATOR_NOT_SERVING'
  | 'ERR_NOT_GLIBC'
  | 'ERR_SOCKET_CLOSED'
  | 'ERR_NOT_A_SOCKET'
  | 'ERR_SOCKET_TYPE'
  | 'ERR_SYSCALL'
  | 'ERR_NO_SUCH_PROCESS'
  | 'ERR_PROCESS_NOT_OWNED'
  | 'ERR_OPENSSL_SELF_CHECK'
  | 'ERR_NOT_STARTED';

/** Every error sockprobe throws on purpose: a stable `code`, and `errno`/`syscall` when a syscall failed. */
export class SockprobeError extends Error {
  readonly code: SockprobeErrorCode;
  readonly errno?: number;
  readonly syscall?: string;

  constructor(code: SockprobeErrorCode, message: string, details: { errno?: number; syscall?: string; cause?: unknown } = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'SockprobeError';
    this.code = code;
    if (details.errno !== undefined) this.errno = details.errno;
    if (details.syscall !== undefined) this.syscall = details.syscall;
  }
}

/** A TypeError with a code, in one message format: `Expected X for name but received Y`. */
export class SockprobeTypeError extends TypeError {
  readonly code: 'ERR_INVALID_ARG_TYPE' | 'ERR_INVALID_ARG_VALUE';

  constructor(name: string, expected: string, received: unknown, code: 'ERR_INVALID_ARG_TYPE' | 'ERR_INVALID_ARG_VALUE' = 'ERR_INVALID_ARG_TYPE') {
    super(`Expected ${expected} for ${name} but received ${describe(received)}`);
    this.name = 'SockprobeTypeError';
    this.code = code;
  }
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return `string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return `${typeof value} ${String(value)}`;
  if (typeof value === 'function') return 'function';
  if (typeof value === 'object') return `object ${(value as object).constructor?.name ?? 'Object'}`;
  return typeof value;
}

/** Native errors carry `code` (and `errno`/`syscall`); rebuild them as SockprobeErrors with the caller's stack. */
export function rethrowNative(error: unknown): never {
  if (error instanceof TypeError) throw error;
  const native = error as { code?: string; message?: string; errno?: number; syscall?: string };
  if (native && typeof native.code === 'string' && native.code.startsWith('ERR_')) {
    throw new SockprobeError(native.code as SockprobeErrorCode, native.message ?? native.code, { errno: native.errno, syscall: native.syscall });
  }
  throw error;
}
