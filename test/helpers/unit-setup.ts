/**
 * The unit tier starts no child process: anything that tries (a test or src reaching for a
 * system tool) fails at once, naming what it tried, instead of quietly depending on the machine.
 */
import childProcess from 'node:child_process';
import { syncBuiltinESMExports } from 'node:module';

const forbidden = ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork'] as const;
for (const name of forbidden) {
  Object.defineProperty(childProcess, name, {
    configurable: true,
    value: (command: unknown) => {
      throw new Error(`unit tests start no child process (child_process.${name}(${JSON.stringify(command)})): move this test to test/system/`);
    },
  });
}
// Named ESM imports of node:child_process read the builtin's exports: bring them in line.
syncBuiltinESMExports();
