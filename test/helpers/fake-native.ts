/**
 * A fake of the addon for unit tests, typed against the real NativeBinding: a change to the
 * seam (src/binding/*.ts) breaks the build of the tests until this fake follows it. Each
 * figure is a public field a test sets; each call is logged in `calls` so tests can count them.
 * Install with `installFakeNative()` (setNativeForTesting).
 */
import type { NativeHeapRawProfile, NativeHeapStatus } from '../../src/binding/heap';
import type { MallocOwnerInfo, NativeMallinfo2, NativeReleaseOutcome, ReleaseKind, ThreadCacheRelease } from '../../src/binding/malloc';
import type { NativeNetLayout, NativeSnapshotRows } from '../../src/binding/net';
import type { NativeOpensslStats } from '../../src/binding/openssl';
import { setNativeForTesting, type NativeBinding } from '../../src/native';
import { PROBE, ROW, SKMEM_SLOTS, TCP_INFO_CAPACITY } from '../../src/net/layout';
import { TCP_INFO_KNOWN_BYTES } from '../../src/net/tcp-info-fields';
import { rawProfile } from './heap-raw';

/** An Error shaped as the addon throws them: a `code`, and errno/syscall for ERR_SYSCALL. */
export function nativeError(code: string, message: string, details: { errno?: number; syscall?: string } = {}): Error {
  return Object.assign(new Error(message), { code }, details);
}

const glibcOwner: MallocOwnerInfo = {
  path: '/lib/x86_64-linux-gnu/libc.so.6',
  glibc: true,
  jemalloc: false,
  tcmalloc: false,
  mimalloc: false,
  mallinfo2: true,
  mallocTrim: true,
  glibcVersion: '2.36',
  jemallocVersion: null,
  tcmallocVersion: null,
  mimallocVersion: null,
};

const emptySnapshot = (): NativeSnapshotRows => ({
  rows: new ArrayBuffer(0),
  count: 0,
  listeners: 0,
  byLocalPort: [],
  byRemotePort: [],
  hostSockets: 0,
  filterPorts: 0,
  unfiltered: false,
  dumps: 2,
  fdsOpen: 10,
  fdLimit: 1024,
  fdHardLimit: 4096,
  scanNs: 0,
  dumpNs: 0,
  scanCpuNs: 0,
  dumpCpuNs: 0,
});

export class FakeNative implements NativeBinding {
  platform: 'linux' | 'other' = 'linux';
  /** Names of the calls made, in order. */
  readonly calls: string[] = [];

  owner: MallocOwnerInfo = { ...glibcOwner };
  mallinfo: NativeMallinfo2 = { arena: 0, ordblks: 0, smblks: 0, hblks: 0, hblkhd: 0, usmblks: 0, fsmblks: 0, uordblks: 0, fordblks: 0, keepcost: 0 };
  mallocXml = '<malloc version="1">\n</malloc>\n';
  /** allocatorNumbers()/allocatorNumbersAsync() by allocator (glibc reads `mallinfo`). */
  numbers: Partial<Record<ReleaseKind, Record<string, number>>> = {};
  statsText: Partial<Record<'glibc' | 'tcmalloc' | 'mimalloc', string>> = {};
  releaseOutcome: NativeReleaseOutcome = { flag: 1, done: true, durationNs: 1e6, threadCpuNs: 9e5 };

  /** tcpProbe(): these bytes are copied into the caller's buffer and `tcpInfoLength` returned; `probeError` thrown instead when set. */
  probeBytes: Uint8Array = new Uint8Array(PROBE.bytes);
  tcpInfoLength = 0;
  probeError: Error | null = null;
  /** The fd and `what` of the last tcpProbe() call. */
  lastProbe: { fd: number; what: number | undefined } | null = null;
  snapshot: NativeSnapshotRows = emptySnapshot();
  snapshotError: Error | null = null;
  /** netLayout(): what src/net/layout.ts expects, unless a test says otherwise. */
  layout: NativeNetLayout = {
    tcpInfo: {},
    tcpInfoSize: TCP_INFO_KNOWN_BYTES,
    tcpInfoCapacity: TCP_INFO_CAPACITY,
    skmemSlots: SKMEM_SLOTS,
    probeBytes: PROBE.bytes,
    rowBytes: ROW.bytes,
    rowTcpInfo: ROW.tcpInfo,
    rowSkmem: ROW.skmem,
  };

  /** '' where OpenSSL tracking can work, else why not. */
  opensslProblem = '';
  /** Thrown by opensslStart() when set (e.g. ERR_OPENSSL_SELF_CHECK). */
  opensslStartError: Error | null = null;
  openssl: NativeOpensslStats = {
    tracking: false,
    started: false,
    liveBytes: 0,
    peakBytes: 0,
    allocations: 0,
    frees: 0,
    reallocs: 0,
    sinceMs: 0,
    session: 0,
    users: 0,
  };

  /** '' where native heap profiling can work, else why not. */
  heapProblemText = '';
  heapState: NativeHeapStatus = { active: false, sampleBytes: 0, patchedSlots: 0, dropped: 0, restoreLeft: 0, session: 0, users: 0, startedAt: 0 };
  /** References this (single) realm holds, by session id, as the addon's per-realm book. */
  readonly heapLeases = new Map<number, number>();
  readonly opensslLeases = new Map<number, number>();
  private lastSession = 0;
  /** heapProfile() resolves with this (its sampleBytes taken from the session); rawProfile() makes one from readable sites. */
  heapRaw: NativeHeapRawProfile = rawProfile([], { sampleBytes: 0, startedAt: 0, takenAt: 0, patchedSlots: 0 });

  canShrinkHeap = true;
  canStartMemoryReducingGc = true;

  private log(name: string): void {
    this.calls.push(name);
  }

  count(name: string): number {
    return this.calls.filter((call) => call === name).length;
  }

  mallocOwner(): MallocOwnerInfo {
    this.log('mallocOwner');
    return { ...this.owner };
  }
  mallinfo2(): NativeMallinfo2 {
    this.log('mallinfo2');
    if (!this.owner.mallinfo2) throw nativeError('ERR_UNSUPPORTED', 'mallinfo2 is not available in this libc');
    return { ...this.mallinfo };
  }
  mallocInfoXml(): string {
    this.log('mallocInfoXml');
    return this.mallocXml;
  }
  allocatorNumbers(kind: 'jemalloc' | 'tcmalloc' | 'mimalloc'): Record<string, number> {
    this.log('allocatorNumbers');
    return this.numbersOf(kind);
  }
  private numbersOf(kind: 'jemalloc' | 'tcmalloc' | 'mimalloc'): Record<string, number> {
    const numbers = this.numbers[kind];
    if (!numbers || !this.owner[kind]) throw nativeError('ERR_ALLOCATOR_NOT_SERVING', `${kind} does not serve malloc`);
    return { ...numbers };
  }
  async allocatorNumbersAsync(kind: ReleaseKind): Promise<Record<string, number>> {
    this.log('allocatorNumbersAsync');
    if (kind === 'glibc') return { ...this.mallinfo };
    return this.numbersOf(kind);
  }
  allocatorStatsText(kind: 'glibc' | 'tcmalloc' | 'mimalloc'): string {
    this.log('allocatorStatsText');
    return this.statsText[kind] ?? '';
  }
  release(kind: ReleaseKind, onThreadpool: false): NativeReleaseOutcome;
  release(kind: ReleaseKind, onThreadpool: true): Promise<NativeReleaseOutcome>;
  release(_kind: ReleaseKind, onThreadpool: boolean): NativeReleaseOutcome | Promise<NativeReleaseOutcome> {
    this.log('release');
    return onThreadpool ? Promise.resolve({ ...this.releaseOutcome }) : { ...this.releaseOutcome };
  }
  releaseSlice(kind: ReleaseKind, index: number, budgetBytes: number, onThreadpool: false): NativeReleaseOutcome;
  releaseSlice(kind: ReleaseKind, index: number, budgetBytes: number, onThreadpool: true): Promise<NativeReleaseOutcome>;
  releaseSlice(_kind: ReleaseKind, _index: number, _budgetBytes: number, onThreadpool: boolean): NativeReleaseOutcome | Promise<NativeReleaseOutcome> {
    this.log('releaseSlice');
    return onThreadpool ? Promise.resolve({ ...this.releaseOutcome }) : { ...this.releaseOutcome };
  }
  releaseThreadCache(kind: string): boolean {
    this.log('releaseThreadCache');
    return kind === 'jemalloc' || kind === 'tcmalloc';
  }

  tcpProbe(fd: number, buffer: Uint8Array, what?: number): number {
    this.log('tcpProbe');
    this.lastProbe = { fd, what };
    if (this.probeError) throw this.probeError;
    buffer.set(this.probeBytes.subarray(0, buffer.length));
    return this.tcpInfoLength;
  }
  async socketSnapshotRows(_pid?: number): Promise<NativeSnapshotRows> {
    this.log('socketSnapshotRows');
    if (this.snapshotError) throw this.snapshotError;
    return { ...this.snapshot, rows: this.snapshot.rows.slice(0) };
  }
  netLayout(): NativeNetLayout {
    this.log('netLayout');
    return this.layout;
  }

  opensslTrackingProblem(): string {
    this.log('opensslTrackingProblem');
    return this.opensslProblem;
  }
  async opensslTrackingProblemAsync(): Promise<string> {
    this.log('opensslTrackingProblemAsync');
    return this.opensslProblem;
  }
  opensslStart(): number {
    this.log('opensslStart');
    if (this.opensslProblem) throw nativeError('ERR_UNSUPPORTED', this.opensslProblem);
    if (this.opensslStartError) throw this.opensslStartError;
    if (!this.openssl.tracking)
      this.openssl = { ...this.openssl, tracking: true, started: true, liveBytes: 0, sinceMs: Date.now(), session: ++this.lastSession, users: 0 };
    this.openssl = { ...this.openssl, users: this.openssl.users + 1 };
    lease(this.opensslLeases, this.openssl.session, +1);
    return this.openssl.session;
  }
  opensslStop(session: number): boolean {
    this.log('opensslStop');
    if (!lease(this.opensslLeases, session, -1)) return false;
    if (this.openssl.tracking && session === this.openssl.session) {
      const users = this.openssl.users - 1;
      this.openssl = { ...this.openssl, users, tracking: users > 0 };
    }
    return true;
  }
  /** Ends the running OpenSSL session whoever holds it, as another realm's last release or a second copy of the addon would. */
  endOpensslSession(): void {
    this.openssl = { ...this.openssl, tracking: false, users: 0 };
  }
  opensslStats(): NativeOpensslStats {
    this.log('opensslStats');
    return { ...this.openssl };
  }

  releaseThreadpoolCaches(kind: ReleaseKind, count: number): Array<Promise<ThreadCacheRelease>> {
    this.log('releaseThreadpoolCaches');
    const released = kind !== 'glibc';
    return Array.from({ length: count }, (_, i) =>
      Promise.resolve({ released, threadId: 1000 + i, waitedNs: 0, cacheBytesBefore: null, cacheBytesAfter: null }),
    );
  }

  heapProblem(): string {
    this.log('heapProblem');
    return this.heapProblemText;
  }
  async heapProblemAsync(): Promise<string> {
    this.log('heapProblemAsync');
    return this.heapProblemText;
  }
  heapStart(sampleBytes: number): number {
    this.log('heapStart');
    if (this.heapProblemText) throw nativeError('ERR_UNSUPPORTED', `native heap profiling is not available: ${this.heapProblemText}`);
    if (this.heapState.active && this.heapState.sampleBytes !== sampleBytes) {
      throw nativeError(
        'ERR_SESSION_CONFLICT',
        `a native heap session already runs in this process sampling every ${this.heapState.sampleBytes} bytes; asked for ${sampleBytes}`,
      );
    }
    if (!this.heapState.active) this.heapState = { ...this.heapState, active: true, sampleBytes, session: ++this.lastSession, users: 0, startedAt: Date.now() };
    this.heapState = { ...this.heapState, users: this.heapState.users + 1 };
    lease(this.heapLeases, this.heapState.session, +1);
    return this.heapState.session;
  }
  heapStop(session: number): boolean {
    this.log('heapStop');
    if (!lease(this.heapLeases, session, -1)) return false;
    if (this.heapState.active && session === this.heapState.session) {
      const users = this.heapState.users - 1;
      this.heapState = users > 0 ? { ...this.heapState, users } : { ...this.heapState, active: false, users: 0, session: 0, startedAt: 0 };
    }
    return true;
  }
  /** Ends the running native heap session whoever holds it (another realm's last release, or a second copy of the addon). */
  endHeapSession(): void {
    this.heapState = { ...this.heapState, active: false, users: 0, session: 0, startedAt: 0 };
  }
  heapStatus(): NativeHeapStatus {
    this.log('heapStatus');
    return { ...this.heapState };
  }
  async heapProfile(): Promise<NativeHeapRawProfile> {
    this.log('heapProfile');
    if (!this.heapState.active) throw Object.assign(new Error('no native heap profile is running'), { code: 'ERR_NOT_STARTED' });
    return { ...this.heapRaw, sampleBytes: this.heapState.sampleBytes };
  }

  shrinkV8Heap(): boolean {
    this.log('shrinkV8Heap');
    return this.canShrinkHeap;
  }
  startMemoryReducingGc(): boolean {
    this.log('startMemoryReducingGc');
    return this.canStartMemoryReducingGc;
  }
}

/** Adds (+1) or removes (−1) one lease; false where there was none to remove. */
function lease(book: Map<number, number>, session: number, change: 1 | -1): boolean {
  const held = book.get(session) ?? 0;
  if (change < 0 && held === 0) return false;
  if (held + change === 0) book.delete(session);
  else book.set(session, held + change);
  return true;
}

/** Installs a fresh FakeNative as the addon; call from a test file's beforeEach (or once) and remove with `setNativeForTesting(undefined)`. */
export function installFakeNative(configure?: (fake: FakeNative) => void): FakeNative {
  const fake = new FakeNative();
  configure?.(fake);
  setNativeForTesting(fake);
  return fake;
}
