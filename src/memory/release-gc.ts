import { constants, performance } from 'node:perf_hooks';
import { native } from '../native';
import { fullGc, shrinkingGc } from './gc';
import type { JsThreadMeter } from './release-js-thread';

export type HeapShrink = boolean | 'blocking';

export interface GcStepResult {
  /** The V8 call used: `MemoryPressureNotification(kModerate)` (incremental, memory-reducing),
   *  `LowMemoryNotification()` (blocking, repeated full GC) or `gc()` (one blocking full GC). */
  method: 'MemoryPressureNotification(kModerate)' | 'LowMemoryNotification()' | 'gc()';
  /** Why a blocking call stood in for the incremental one, when it did. */
  fallbackReason: string | null;
  /** Time the GC held the JS thread: its pauses as V8 reported them (for the blocking calls, the call). */
  durationMs: number;
  /** Wall time from asking V8 to the GC having finished. */
  wallMs: number;
  /** Whether V8 was asked to shrink its heap (young generation included). */
  shrunkHeap: boolean;
  /** False when the incremental GC had not finished within the wait; the trim went ahead. */
  completed: boolean;
}

/** Memory-reducing GCs run one after the other: what the first one's finalizers release
 *  (native memory of objects whose wrappers die a cycle later) the second collects, as the
 *  repeated rounds of LowMemoryNotification do. Measured after a 5000-connection TLS spike:
 *  one round left glibc 9–19 MiB and mimalloc 26 MiB above baseline, two rounds 4–5 and 9–12. */
const GC_ROUNDS = 2;

/** How long an incremental GC may take before the trim goes ahead without it. */
export const GC_WAIT_MS = 5000;

/**
 * Frees what dead sockets and Buffers hold (and, with `shrink`, shrinks V8's heap) before a
 * trim. `shrink: true` asks for an incremental memory-reducing mark-compact and waits for it
 * to finish (the 'gc' performance entry of its final pause), twice: marking runs concurrently and in
 * short steps between event-loop turns, so the JS thread sees a few short pauses instead of
 * the tens of ms a blocking LowMemoryNotification costs. `'blocking'` keeps the old call.
 */
export async function runGcStep(shrink: HeapShrink, meter: JsThreadMeter): Promise<GcStepResult> {
  const asked = performance.now();
  // A blocking call holds the JS thread for exactly as long as it runs.
  const blocking = (method: GcStepResult['method'], fallbackReason: string | null, shrunkHeap: boolean): GcStepResult => {
    const durationMs = meter.lastStepMs;
    return { method, fallbackReason, durationMs, wallMs: durationMs, shrunkHeap, completed: true };
  };
  if (shrink === false) {
    const method = meter.run(fullGc);
    const why = method === 'gc()' ? null : 'gc() is not exposed (node --expose-gc): LowMemoryNotification collects as fully, and also shrinks the heap';
    return blocking(method, why, method !== 'gc()');
  }
  if (shrink === 'blocking') {
    const shrunk = meter.run(shrinkingGc);
    return blocking(shrunk ? 'LowMemoryNotification()' : 'gc()', shrunk ? null : 'this runtime exports no v8::Isolate::LowMemoryNotification', shrunk);
  }
  let completed = true;
  for (let round = 0; round < GC_ROUNDS; round++) {
    const majorDone = waitForMajorGc(meter, performance.now(), GC_WAIT_MS);
    if (!meter.run(() => native().startMemoryReducingGc())) {
      majorDone.cancel();
      const shrunk = meter.run(shrinkingGc);
      return blocking(shrunk ? 'LowMemoryNotification()' : 'gc()', 'this runtime exports no v8::Isolate::MemoryPressureNotification', shrunk);
    }
    completed = (await majorDone.promise) && completed;
  }
  return {
    method: 'MemoryPressureNotification(kModerate)',
    fallbackReason: null,
    durationMs: meter.gcPauseMsSince(asked),
    wallMs: performance.now() - asked,
    shrunkHeap: true,
    completed,
  };
}

/** Resolves true at the first major GC pause reported after `sinceMs`, false after `timeoutMs`. */
function waitForMajorGc(meter: JsThreadMeter, sinceMs: number, timeoutMs: number): { promise: Promise<boolean>; cancel: () => void } {
  let cancel: () => void = () => undefined;
  const promise = new Promise<boolean>((resolve) => {
    const finish = (completed: boolean) => {
      clearTimeout(timer);
      unsubscribe();
      resolve(completed);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    const unsubscribe = meter.onGc(() => {
      if (meter.gcPauses.some((pause) => pause.startMs >= sinceMs && pause.kind === constants.NODE_PERFORMANCE_GC_MAJOR)) finish(true);
    });
    cancel = () => finish(false);
  });
  return { promise, cancel };
}
