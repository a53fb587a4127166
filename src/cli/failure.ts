/**
 * What the CLI prints and exits with when a command fails: the error's code in brackets (so
 * scripts can match it), the message, and the exit code its kind calls for. A bug (an error
 * sockprobe did not throw on purpose) keeps its stack.
 */
import { SockprobeError, type SockprobeErrorCode } from '../errors';
import { EnvironmentError, ServiceError, UsageError } from './args';

export const EXIT = { done: 0, failed: 1, usage: 2, environment: 3 } as const;

/** SockprobeError codes that mean "this machine or target cannot", not "the run broke". */
const ENVIRONMENT_CODES: ReadonlySet<SockprobeErrorCode> = new Set<SockprobeErrorCode>([
  'ERR_NATIVE_UNAVAILABLE',
  'ERR_UNSUPPORTED',
  'ERR_ALLOCATOR_NOT_SERVING',
  'ERR_NOT_GLIBC',
  'ERR_NO_SUCH_PROCESS',
  'ERR_PROCESS_NOT_OWNED',
]);

export interface Failure {
  exitCode: number;
  code: string;
  text: string;
}

export function describeFailure(error: unknown, usage: string): Failure {
  if (error instanceof UsageError) return { exitCode: EXIT.usage, code: error.code, text: `sockprobe: ${error.message} [${error.code}]\n\n${usage}` };
  if (error instanceof ServiceError) return { exitCode: EXIT.failed, code: error.code, text: `sockprobe: ${error.message} [${error.code}]` };
  if (error instanceof EnvironmentError) return { exitCode: EXIT.environment, code: error.code, text: `sockprobe: ${error.message} [${error.code}]` };
  if (error instanceof SockprobeError) {
    const exitCode = ENVIRONMENT_CODES.has(error.code) ? EXIT.environment : EXIT.failed;
    return { exitCode, code: error.code, text: `sockprobe: ${error.message} [${error.code}]` };
  }
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (code === 'EADDRINUSE') {
    return {
      exitCode: EXIT.environment,
      code,
      text: `sockprobe: the port is in use (${(error as Error).message}); pick another with --port, or leave it out for any free port [${code}]`,
    };
  }
  if (code === 'ESRCH') return { exitCode: EXIT.environment, code, text: `sockprobe: ${(error as Error).message} [${code}]` };
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return { exitCode: EXIT.failed, code: typeof code === 'string' ? code : 'ERR_UNEXPECTED', text: `sockprobe: ${text}` };
}
