import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { native } from '../native';

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

/**
 * A memory-reducing GC (V8's LowMemoryNotification): collects everything like fullGc() and
 * also shrinks the young generation, which grows to its maximum during a connection spike
 * and otherwise stays there. Falls back to fullGc() where the runtime lacks the call.
 * Returns whether the heap could be shrunk.
 */
export function shrinkingGc(): boolean {
  if (native().shrinkV8Heap()) return true;
  fullGc();
  return false;
}
