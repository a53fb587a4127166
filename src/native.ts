/**
 * The one seam to the addon: loads it with node-gyp-build (a prebuild from prebuilds/, or
 * build/Release after a source build) and casts it once to NativeBinding. Nothing else
 * imports the addon. Loading is lazy so that importing sockprobe never throws: where the
 * addon cannot load, capabilities() says why and each call throws ERR_NATIVE_UNAVAILABLE.
 * Every function of the binding is wrapped once so that its coded errors, thrown or
 * rejected, come back as SockprobeErrors with the JS caller's stack (rebuildNativeError).
 */
import type { HeapBinding } from './binding/heap';
import type { MallocBinding } from './binding/malloc';
import type { NetBinding } from './binding/net';
import type { OpensslBinding } from './binding/openssl';
import type { V8Binding } from './binding/v8';
import { SockprobeError, rebuildNativeError } from './errors';
import { packageRoot } from './package-root';

export interface NativeBinding extends MallocBinding, NetBinding, OpensslBinding, V8Binding, HeapBinding {
  /** 'linux' where the per-concern sources were built; 'other' where only registration was. */
  platform: 'linux' | 'other';
}

let loaded: NativeBinding | undefined;
let loadError: Error | undefined;

function load(): NativeBinding | undefined {
  if (loaded || loadError) return loaded;
  try {
    const nodeGypBuild = require('node-gyp-build') as (dir: string) => unknown;
    loaded = withCallerErrors(nodeGypBuild(packageRoot) as NativeBinding);
  } catch (error) {
    loadError = error as Error;
  }
  return loaded;
}

/** Why the addon could not load, with the fixes that apply here; undefined when it loaded. */
export function nativeLoadProblem(): string | undefined {
  if (load()) return undefined;
  const fixes =
    process.platform !== 'linux'
      ? `sockprobe's probes need Linux; this is ${process.platform}.`
      : 'Reinstall so the prebuild for linux-x64 or linux-arm64 (glibc) is used (npm install sockprobe), ' +
        'or build from source with python3, make and g++ (npm rebuild sockprobe).';
  return `the native addon did not load (${loadError?.message.split('\n')[0]}). ${fixes}`;
}

/** The addon, or a coded error explaining why it is not available here. */
export function native(): NativeBinding {
  const binding = load();
  if (!binding) throw new SockprobeError('ERR_NATIVE_UNAVAILABLE', nativeLoadProblem() ?? 'the native addon did not load', { cause: loadError });
  return binding;
}

/** For tests of the TS layer: replace the binding with a fake of the same shape. */
export function setNativeForTesting(binding: NativeBinding | undefined): void {
  loaded = binding && withCallerErrors(binding);
  loadError = undefined;
}

// A view of the binding whose functions rebuild errors; values (and functions a test fake
// defines on its prototype or swaps later) are read through from the binding itself.
function withCallerErrors(binding: NativeBinding): NativeBinding {
  const wrappers = new WeakMap<object, (...args: unknown[]) => unknown>();
  return new Proxy(binding, {
    get(target, name, receiver) {
      const value: unknown = Reflect.get(target, name, receiver);
      if (typeof value !== 'function') return value;
      let wrapper = wrappers.get(value);
      if (!wrapper) wrappers.set(value, (wrapper = rebuildingErrors(binding, value as (...args: unknown[]) => unknown)));
      return wrapper;
    },
  });
}

function rebuildingErrors(binding: NativeBinding, call: (...args: unknown[]) => unknown): (...args: unknown[]) => unknown {
  return function callNative(...args: unknown[]): unknown {
    let result: unknown;
    try {
      result = call.apply(binding, args);
    } catch (error) {
      const site = new Error();
      Error.captureStackTrace(site, callNative);
      throw rebuildNativeError(error, site);
    }
    if (!(result instanceof Promise)) return result;
    // A rejection arrives from the threadpool's completion, with no JS caller on the stack:
    // keep this one. Capturing it costs a few µs, once per asynchronous call.
    const site = new Error();
    Error.captureStackTrace(site, callNative);
    return result.catch((error: unknown) => {
      throw rebuildNativeError(error, site);
    });
  };
}
