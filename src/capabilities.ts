import { allocator } from './memory/detect';
import { nativeLoadProblem } from './native';
import { nativeHeapCapabilities } from './native-heap';
import { netCapabilities } from './net';
import { opensslCapabilities } from './openssl';
import { runtimeLimits } from './runtime';

/** Each feature: `true` where it works here, or a sentence saying why not. */
export interface Capabilities extends Record<string, true | string> {
  platform: true | string;
  nativeAddon: true | string;
  allocator: string;
  allocatorStats: true | string;
  allocatedBytes: true | string;
  freeBytes: true | string;
  mallinfo: true | string;
  mallocInfo: true | string;
  releaseToOS: true | string;
  memoryBreakdown: true | string;
}

const notGlibc = (name: string) => `glibc does not serve malloc here (${name} does)`;

export function capabilities(): Capabilities {
  const platform = process.platform === 'linux' ? true : `sockprobe's probes need Linux; this is ${process.platform}`;
  const addon = nativeLoadProblem() ?? true;
  if (platform !== true || addon !== true) {
    const why = platform !== true ? platform : (addon as string);
    return {
      platform,
      nativeAddon: addon,
      allocator: 'unknown',
      allocatorStats: why,
      allocatedBytes: why,
      freeBytes: why,
      mallinfo: why,
      mallocInfo: why,
      releaseToOS: why,
      memoryBreakdown: why,
      tcpInfo: why,
      socketSnapshot: why,
      // Counting connections is diagnostics_channel only: it needs no addon.
      connectionTracking: netCapabilities().connectionTracking,
      opensslTracking: why,
      nativeHeapProfiling: why,
    };
  }
  const { name, library } = allocator();
  const known =
    name !== 'unknown'
      ? true
      : `malloc is served by ${library || 'an unknown object'}, not glibc, jemalloc, tcmalloc or mimalloc (musl has no malloc statistics)`;
  const noFigure = name === 'mimalloc' ? 'mimalloc release builds count no allocated or free bytes (only committed memory)' : known;
  const glibcOnly = name === 'glibc' ? true : notGlibc(name);
  return {
    platform,
    nativeAddon: true,
    allocator: name,
    allocatorStats: known,
    allocatedBytes: noFigure,
    freeBytes: noFigure,
    mallinfo: glibcOnly,
    mallocInfo: glibcOnly,
    releaseToOS: known,
    memoryBreakdown: runtimeLimits()?.memoryBreakdown ?? known,
    ...netCapabilities(),
    ...opensslCapabilities(),
    ...nativeHeapCapabilities(),
  };
}
