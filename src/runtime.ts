/**
 * Bun and Deno load Node-API addons too, and sockprobe meets them in the wild. What differs from
 * Node there, found by running each probe under them (docs/install.md, "Other runtimes"): a
 * feature named here says why it cannot give a true figure, instead of giving a wrong one.
 */
export interface RuntimeLimits {
  /** e.g. "Bun 1.4.5". */
  runtime: string;
  memoryBreakdown?: string;
  nativeHeapProfiling?: string;
  /** Why there is no OpenSSL to track, added to the addon's own finding. */
  opensslTracking?: string;
  /** Why a socket object yields no fd. */
  socketFd?: string;
}

export function runtimeLimits(versions: Record<string, string | undefined> = process.versions): RuntimeLimits | undefined {
  if (versions.bun) {
    const runtime = `Bun ${versions.bun}`;
    return {
      runtime,
      memoryBreakdown:
        `${runtime} runs JavaScriptCore, whose V8 heap statistics are stand-ins (total_physical_size reads the whole ` +
        "process's RSS): RSS cannot be split into JS heap and native memory",
      nativeHeapProfiling:
        `${runtime} allocates through its own mimalloc and JavaScriptCore's allocator, not malloc: the malloc hooks ` +
        'would see a small part of its native memory (no site at all for 2,000 Buffers)',
      opensslTracking: `${runtime}'s TLS is BoringSSL, built in without OpenSSL's allocation hooks`,
    };
  }
  if (versions.deno) {
    const runtime = `Deno ${versions.deno}`;
    return {
      runtime,
      opensslTracking: `${runtime}'s TLS and crypto are Rust libraries (rustls), not OpenSSL`,
      socketFd: `${runtime}'s node:net sockets expose no file descriptor: pass the socket's fd, or read every socket with socketSnapshot()`,
    };
  }
  return undefined;
}
