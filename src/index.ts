export { capabilities, type Capabilities } from './capabilities';
export { SockprobeError, SockprobeTypeError, type SockprobeErrorCode } from './errors';
export { allocator, type AllocatorIdentity, type AllocatorName } from './memory/detect';
export { allocatorStats, type AllocatorStats } from './memory/stats';
export { mallinfo, mallocStatsText, type Mallinfo } from './memory/glibc';
export { mallocInfo, type MallocInfo, type ArenaInfo } from './memory/malloc-info';
export { releaseToOS, type ReleaseOptions, type ReleaseResult } from './memory/release';
export { memoryBreakdown, type MemoryBreakdown, type BreakdownPart } from './memory/breakdown';
