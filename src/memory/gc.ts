import * as v8 from 'node:v8';
import * as vm from 'node:vm';

type GcFunction = (options?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async' }) => void;
let gcFunction: GcFunction | undefined;

/**
 * A full, synchronous V8 garbage collection, whether or not Node was started with
 * --expose-gc: freeing dead TLS sockets and Buffers is what returns their native memory
 * to the allocator before a trim.
 */
export function fullGc(): void {
  if (!gcFunction) {
    const exposed = (globalThis as { gc?: GcFunction }).gc;
    if (typeof exposed === 'function') {
      gcFunction = exposed;
    } else {
      v8.setFlagsFromString('--expose-gc');
      gcFunction = vm.runInNewContext('gc') as GcFunction;
      v8.setFlagsFromString('--no-expose-gc');
    }
  }
  gcFunction();
}
