// The functions OpenSSL calls instead of malloc/realloc/free while tracking is on.
//
// Pointers are exactly what malloc returns (no header), so OpenSSL's own defaults can take
// over at any moment and free blocks we allocated. Each tracked block is allocated 16 bytes
// longer and carries a trailer in its last 16 usable bytes (found with the allocator's
// malloc_usable_size): the requested size and a tag mixing the address, the session and a
// per-process secret. A block from before the session (or from another allocator path)
// has no valid tag; reading its last usable bytes is always in bounds, unlike a header.
#pragma once
#include <cstddef>
#include <cstdint>

namespace sockprobe {

constexpr size_t kTrailerBytes = 16;

using UsableSizeFn = size_t (*)(void*);

// Must be called (once) before the hooks are installed.
void PrepareHooks(UsableSizeFn usable_size);
// Session `generation` counts from now on; 0 stops counting (hooks then behave as plain
// malloc/realloc/free, for calls already inside them when they are uninstalled).
void SetCountingGeneration(uint64_t generation);

void* TrackedMalloc(size_t num, const char* file, int line);
void* TrackedRealloc(void* address, size_t num, const char* file, int line);
void TrackedFree(void* address, const char* file, int line);

}  // namespace sockprobe
