// Plain C++ calls into each allocator's own API. No N-API here: these run on the
// threadpool too. Each returns false when the allocator's symbol is absent.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "malloc/kind.h"

namespace sockprobe {

using NamedSizes = std::vector<std::pair<std::string, uint64_t>>;

// glibc
struct Mallinfo2 {  // layout of glibc >= 2.33 `struct mallinfo2`, declared here to build anywhere
  size_t arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost;
};
bool GlibcMallinfo2(Mallinfo2* out);
bool GlibcMallocInfoXml(std::string* out);
bool GlibcMallocStatsText(std::string* out);
bool GlibcTrim(int* released_flag);
const char* GlibcVersion();  // nullptr off glibc

// jemalloc
bool JemallocStats(NamedSizes* out);
bool JemallocPurge();
bool JemallocArenaCount(unsigned* out);   // arenas.narenas: arena indexes run 0 .. n-1
bool JemallocPurgeArena(unsigned arena);  // arena.<i>.purge: that arena's dirty and muzzy pages only
bool JemallocFlushThreadCache();          // thread.tcache.flush: the calling thread's cache
const char* JemallocVersion();

// gperftools tcmalloc
bool TcmallocStats(NamedSizes* out);
bool TcmallocRelease();
bool TcmallocReleaseBytes(size_t bytes);  // MallocExtension_ReleaseToSystem: at least `bytes` of free spans
bool TcmallocProperty(const char* name, size_t* out);
bool TcmallocMarkThreadIdle();               // the calling thread's cache back to the central lists
bool TcmallocThreadCacheBytes(size_t* out);  // MallocExtension_GetThreadCacheSize: the calling thread's cache
const char* TcmallocVersion();
bool TcmallocStatsText(std::string* out);

// mimalloc
bool MimallocStats(NamedSizes* out);
bool MimallocCollect();
int MimallocVersion();  // -1 when absent
bool MimallocStatsText(std::string* out);

// By kind, for the N-API layer (dispatch.cc). false: that allocator does not serve malloc here.
bool AllocatorNumbersOf(AllocatorKind kind, NamedSizes* out);     // glibc: the mallinfo2 fields
bool AllocatorStatsTextOf(AllocatorKind kind, std::string* out);  // false for jemalloc (no text wired)

}  // namespace sockprobe
