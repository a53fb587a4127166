export { capabilities, type Capabilities } from './capabilities';
export { SockprobeError, SockprobeRangeError, SockprobeTypeError, SOCKPROBE_ERROR_CODES, type SockprobeErrorCode } from './errors';
export { allocator, type AllocatorIdentity, type AllocatorName } from './memory/detect';
export { allocatorStats, allocatorStatsAsync, type AllocatorStats } from './memory/stats';
export { mallinfo, mallocStatsText, type Mallinfo } from './memory/glibc';
export { mallocInfo, type MallocInfo, type ArenaInfo } from './memory/malloc-info';
export { releaseToOS, type JsThreadCost, type LoopDelayAdded, type ReleaseOptions, type ReleaseResult } from './memory/release';
export { memoryBreakdown, type MemoryBreakdown, type BreakdownPart } from './memory/breakdown';
export { containerMemory } from './container/memory';
export { containerLedger, type ContainerLedgerOptions } from './container/ledger';
export type { ContainerMemory, ContainerMemoryStat, ContainerMemoryEvents } from './container/interpret';
export type { MemoryPressure, PressureLine } from './container/parse';
export type { ContainerLedger, LedgerLine } from './container/reconcile';
export type { MemoryEventRecord, MemoryEventCounter } from './container/events';
export * from './net';
export * from './openssl';
export {
  nativeHeap,
  DEFAULT_SAMPLE_BYTES,
  type NativeHeapStartOptions,
  type NativeHeapProfileReadOptions,
  type NativeHeapCategory,
  type NativeHeapFrame,
  type NativeHeapProfile,
  type NativeHeapSite,
  type NativeHeapDiff,
  type NativeHeapSiteDiff,
  type NativeHeapSession,
  type SessionHandle,
  type SessionEnd,
} from './native-heap';
export { createProbe, type Probe, type ProbeOptions, type AutoReleaseRecord, type NativeHeapProfileOptions, type NativeHeapReport } from './probe/probe';
export { buildReport, renderReport, type ProbeReport, type Versions } from './probe/report';
export type { Finding, FindingKind, Severity } from './probe/findings';
export type { Sample, SocketSummary, ContainerReading } from './probe/sample';
export type { PerConnectionEstimate, Retention, LeakTrend } from './probe/correlate';
export type { HolderEstimate } from './probe/holders/estimate';
export type { HolderId } from './probe/holders/signatures';
export type { HolderSite } from './probe/holders/match';
