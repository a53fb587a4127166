/** Stable error codes; documented in docs/api.md. */
export const SOCKPROBE_ERROR_CODES = [
  'ERR_INVALID_ARG_TYPE',
  'ERR_INVALID_ARG_VALUE',
  'ERR_UNSUPPORTED',
  'ERR_NATIVE_UNAVAILABLE',
  'ERR_ALLOCATOR_NOT_SERVING',
  'ERR_NOT_GLIBC',
  'ERR_SOCKET_CLOSED',
  'ERR_NOT_A_SOCKET',
  'ERR_SOCKET_TYPE',
  'ERR_SYSCALL',
  'ERR_NO_SUCH_PROCESS',
  'ERR_PROCESS_NOT_OWNED',
  'ERR_OPENSSL_SELF_CHECK',
  'ERR_OUT_OF_RANGE',
  'ERR_NOT_STARTED',
  'ERR_SESSION_CONFLICT',
] as const;
export type SockprobeErrorCode = (typeof SOCKPROBE_ERROR_CODES)[number];
const CODES: ReadonlySet<string> = new Set(SOCKPROBE_ERROR_CODES);

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

  /** The addon's own argument errors, kept word for word. */
  static withMessage(message: string, code: 'ERR_INVALID_ARG_TYPE' | 'ERR_INVALID_ARG_VALUE'): SockprobeTypeError {
    const error = new SockprobeTypeError('', '', undefined, code);
    error.message = message;
    return error;
  }
}

/** An index or count outside what exists (a row past the end), as Node's own ERR_OUT_OF_RANGE. */
export class SockprobeRangeError extends RangeError {
  readonly code = 'ERR_OUT_OF_RANGE';

  constructor(name: string, range: string, received: unknown) {
    super(`Expected ${range} for ${name} but received ${describe(received)}`);
    this.name = 'SockprobeRangeError';
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

/**
 * The addon throws plain Errors and TypeErrors carrying `code` (and `errno`/`syscall`). This
 * rebuilds them as SockprobeErrors (a TypeError stays a TypeError, with its code) whose stack
 * is `site`'s: the JS caller's, also for a promise that rejects later on the threadpool's
 * behalf. Anything else (a bug, an exception from a callback) passes through untouched.
 */
export function rebuildNativeError(error: unknown, site: Error): unknown {
  const native = error as { code?: unknown; message?: unknown; errno?: unknown; syscall?: unknown } | null;
  if (error instanceof SockprobeError || error instanceof SockprobeTypeError) return error;
  if (!(error instanceof Error) || typeof native?.code !== 'string' || !CODES.has(native.code)) return error;
  const code = native.code as SockprobeErrorCode;
  const message = String(native.message);
  const rebuilt =
    error instanceof TypeError && (code === 'ERR_INVALID_ARG_TYPE' || code === 'ERR_INVALID_ARG_VALUE')
      ? SockprobeTypeError.withMessage(message, code)
      : new SockprobeError(code, message, {
          errno: typeof native.errno === 'number' ? native.errno : undefined,
          syscall: typeof native.syscall === 'string' ? native.syscall : undefined,
        });
  const callerFrames = (site.stack ?? '').split('\n').slice(1).join('\n');
  rebuilt.stack = `${rebuilt.name}: ${message}${callerFrames ? '\n' + callerFrames : ''}`;
  return rebuilt;
}
