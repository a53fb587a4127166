/**
 * The one seam to the addon: loads it with node-gyp-build (a prebuild from prebuilds/, or
 * build/Release after a source build) and casts it once to NativeBinding. Nothing else
 * imports the addon. Loading is lazy so that importing sockprobe never throws: where the
 * addon cannot load, capabilities() says why and each call throws ERR_NATIVE_UNAVAILABLE.
 * Every function of the binding is wrapped once so that its coded errors, thrown or
 * rejected, come back as SockprobeErrors with the JS caller's stack (rebuildNativeError).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { HeapBinding } from './binding/heap';
import { foreignPrebuildReason, runningLibc } from './binding/libc';
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
let loadErrorMomentary = false;

// A load that failed for want of an fd or memory (dlopen and node-gyp-build's directory read each
// need an fd; a service leaking sockets reaches its limit) says nothing about the addon: the next
// call tries again instead of the process living without sockprobe from then on.
const MOMENTARY_LOAD = /\b(EMFILE|ENFILE|ENOMEM)\b|Too many open files|Cannot allocate memory/i;

function load(): NativeBinding | undefined {
  if (loaded || (loadError && !loadErrorMomentary)) return loaded;
  try {
    const nodeGypBuild = require('node-gyp-build') as { resolve(dir: string): string };
    const file = nodeGypBuild.resolve(packageRoot);
    // A glibc prebuild under musl would fail in dlopen or crash later: never load it.
    const foreign = foreignPrebuildReason(file, runningLibc());
    if (foreign) throw new Error(foreign);
    loaded = withCallerErrors(require(file) as NativeBinding);
  } catch (error) {
    loadError = error as Error;
    const code = (error as NodeJS.ErrnoException).code ?? '';
    loadErrorMomentary = MOMENTARY_LOAD.test(`${code} ${loadError.message}`);
  }
  return loaded;
}

/** What scripts/install.js found missing when it could not provide the addon, if it wrote that down. */
function installProblem(): string | undefined {
  try {
    return fs.readFileSync(path.join(packageRoot, 'build', 'install-problem.txt'), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The platforms whose prebuilds this package carries, e.g. "linux-x64 (glibc)", or "no platform". */
function shippedPrebuilds(): string {
  const dir = path.join(packageRoot, 'prebuilds');
  let platforms: string[] = [];
  try {
    platforms = fs.readdirSync(dir).map((platform) => {
      const musl = fs.readdirSync(path.join(dir, platform)).some((file) => file.split('.').includes('musl'));
      return `${platform} (${musl ? 'musl' : 'glibc'})`;
    });
  } catch {}
  return platforms.join(', ') || 'no platform';
}

/** Why the addon could not load, with the fixes that apply here; undefined when it loaded. */
export function nativeLoadProblem(): string | undefined {
  if (load()) return undefined;
  const libc = runningLibc() === 'musl' ? ' musl' : '';
  const message = loadError?.message.split('\n')[0] ?? '';
  const fixes = loadErrorMomentary
    ? 'The process had no fd or memory to spare when sockprobe loaded its addon; the next call tries again.'
    : process.platform !== 'linux'
      ? `sockprobe's probes need Linux; this is ${process.platform}.`
      : /--allow-ffi/.test(message)
        ? 'Deno loads native addons only with --allow-ffi: run it with that permission (or --allow-all).'
        : (installProblem() ??
          `This package has prebuilds for ${shippedPrebuilds()}; on linux-${process.arch}${libc} build from source: install python3, make and g++ ` +
            '(apt-get install python3 make g++, or apk add python3 make g++) and run npm rebuild sockprobe.');
  return `the native addon did not load (${message}). ${fixes}`;
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
  loadErrorMomentary = false;
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
