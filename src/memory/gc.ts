import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { native } from '../native';

type GcFunction = (options?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async' }) => void;
let viaContext: GcFunction | undefined;

/**
 * A full, synchronous V8 garbage collection, whether or not Node was started with
 * --expose-gc: freeing dead TLS sockets and Buffers is what returns their native memory
 * to the allocator before a trim. Returns the call used.
 *
 * Without an exposed gc() it asks V8 for LowMemoryNotification (as full, and it also
 * shrinks the heap) rather than the well-known trick of turning --expose-gc on for a moment
 * to pull gc() out of a new vm context: that flag is process-wide, so a worker thread
 * creating a context meanwhile installs the gc extension too, and one terminated while V8
 * installs it prints its bootstrap failure ("Failing script: …") to the service's stdout.
 * The trick stays only for a runtime that exports no LowMemoryNotification.
 */
export function fullGc(): 'gc()' | 'LowMemoryNotification()' {
  const exposed = (globalThis as { gc?: GcFunction }).gc;
  if (typeof exposed === 'function') {
    exposed();
    return 'gc()';
  }
  if (native().shrinkV8Heap()) return 'LowMemoryNotification()';
  if (!viaContext) {
    v8.setFlagsFromString('--expose-gc');
    viaContext = vm.runInNewContext('gc') as GcFunction;
    v8.setFlagsFromString('--no-expose-gc');
  }
  viaContext();
  return 'gc()';
}

/**
 * A memory-reducing GC (V8's LowMemoryNotification): collects everything like fullGc() and
 * also shrinks the young generation, which grows to its maximum during a connection spike
 * and otherwise stays there. Falls back to fullGc() where the runtime lacks the call.
 * Returns whether the heap could be shrunk.
 */
export function shrinkingGc(): boolean {
  if (native().shrinkV8Heap()) return true;
  return fullGc() === 'LowMemoryNotification()';
}
