import { describe, expect, it } from 'vitest';
import { EnvironmentError, ServiceError, UsageError } from '../../src/cli/args';
import { describeFailure } from '../../src/cli/failure';
import { SockprobeError } from '../../src/errors';

describe('what the CLI prints and exits with when a command fails', () => {
  it('a bad command line: exit 2, the code, and the usage', () => {
    expect(describeFailure(new UsageError('unknown option --x'), 'USAGE')).toEqual({
      exitCode: 2,
      code: 'ERR_CLI_USAGE',
      text: 'sockprobe: unknown option --x [ERR_CLI_USAGE]\n\nUSAGE',
    });
  });

  it('this machine cannot: exit 3, with the CLI code or the library code', () => {
    expect(describeFailure(new EnvironmentError('jemalloc is not installed'), 'U')).toMatchObject({ exitCode: 3, code: 'ERR_CLI_ENVIRONMENT' });
    for (const code of ['ERR_NO_SUCH_PROCESS', 'ERR_PROCESS_NOT_OWNED', 'ERR_NATIVE_UNAVAILABLE', 'ERR_UNSUPPORTED'] as const) {
      const failure = describeFailure(new SockprobeError(code, 'cannot'), 'U');
      expect(failure).toEqual({ exitCode: 3, code, text: `sockprobe: cannot [${code}]` });
    }
    expect(describeFailure(Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE' }), 'U')).toMatchObject({ exitCode: 3, code: 'EADDRINUSE' });
  });

  it('the run broke: exit 1; a bug keeps its stack, a library error its code', () => {
    expect(describeFailure(new SockprobeError('ERR_SYSCALL', 'getsockopt failed'), 'U')).toMatchObject({ exitCode: 1, code: 'ERR_SYSCALL' });
    // The service under `allocators --run` failed: its message (and output tail) without a stack.
    expect(describeFailure(new ServiceError('the service never listened'), 'U')).toEqual({
      exitCode: 1,
      code: 'ERR_CLI_SERVICE',
      text: 'sockprobe: the service never listened [ERR_CLI_SERVICE]',
    });
    const bug = new Error('undefined is not a function');
    const failure = describeFailure(bug, 'U');
    expect(failure).toMatchObject({ exitCode: 1, code: 'ERR_UNEXPECTED' });
    expect(failure.text).toContain(bug.stack);
    expect(describeFailure('a string was thrown', 'U')).toMatchObject({ exitCode: 1, text: 'sockprobe: a string was thrown' });
  });
});
