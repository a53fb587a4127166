/**
 * The one seam to the addon: loads it with node-gyp-build (a prebuild from prebuilds/, or
 * build/Release after a source build) and casts it once to NativeBinding. Nothing else
 * imports the addon. Loading is lazy so that importing sockprobe never throws: where the
 * addon cannot load, capabilities() says why and each call throws ERR_NATIVE_UNAVAILABLE.
 */
import type { HeapBinding } from './binding/heap';
import type { MallocBinding } from './binding/malloc';
import type { NetBinding } from './binding/net';
import type { OpensslBinding } from './binding/openssl';
import type { V8Binding } from './binding/v8';
import { SockprobeError } from './errors';
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
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const nodeGypBuild = require('node-gyp-build') as (dir: string) => unknown;
    loaded = nodeGypBuild(packageRoot) as NativeBinding;
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
      : 'Reinstall so the prebuild for linux-x64 is used (npm install sockprobe), or build from source with python3, make and g++ (npm rebuild sockprobe).';
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
  loaded = binding;
  loadError = undefined;
}
