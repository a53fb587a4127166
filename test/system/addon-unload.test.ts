// Hooks never outlive the code they point at. A worker thread alone loads sockprobe and
// starts OpenSSL tracking or the native heap profiler, then exits; Node 20 unloads the addon
// with its last environment (22 and later keep it), so before -z nodelete and the pin at the
// first hook the main thread's next OpenSSL call or allocation jumped into unmapped code
// (exit 139). On every line the process must survive, the addon stay mapped, and the main
// thread then load it again and use the same feature.
import { describe, expect, it } from 'vitest';
import { runFixture } from '../helpers/child';

interface Result {
  feature: string;
  node: string;
  mappedAfterExit: number;
  survived: boolean;
  reloaded: boolean;
  error?: string;
}

describe(`hooks installed by a worker that exits, Node ${process.versions.node}`, () => {
  for (const feature of ['openssl', 'nativeHeap']) {
    for (const stopped of [false, true]) {
      it(`${feature}.start() in the worker${stopped ? ', stopped before it exits' : ', left running'}: the main thread keeps working`, async () => {
        const result = await runFixture<Result>('unload-worker-hooks.js', { args: stopped ? [feature, 'stop'] : [feature], timeoutMs: 60_000 }).catch(
          (error: Error) => ({
            code: null,
            signal: null,
            stdout: '',
            stderr: error.message,
            json: undefined,
          }),
        );
        expect(result.signal, result.stderr).toBeNull();
        expect(result.code, result.stderr).toBe(0);
        expect(result.json).toMatchObject({ feature, node: process.versions.node, survived: true, reloaded: true });
        expect(result.json?.mappedAfterExit).toBeGreaterThan(0);
      });
    }
  }
});
