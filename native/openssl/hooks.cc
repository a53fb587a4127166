#include "openssl/hooks.h"

#include <sys/random.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "common/clock.h"
#include "openssl/counters.h"

namespace sockprobe {

namespace {

std::atomic<uint64_t> g_generation{0};  // 0: not counting
UsableSizeFn g_usable_size = nullptr;
uint64_t g_secret = 0;

struct Trailer {
  uint64_t size;
  uint64_t tag;
};

// Mixes address, session and secret (splitmix64 finaliser). The low bit is forced on so a
// zeroed trailer never matches.
inline uint64_t Tag(const void* address, uint64_t generation) {
  uint64_t x = reinterpret_cast<uintptr_t>(address) ^ g_secret ^ (generation * 0x9e3779b97f4a7c15ull);
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return (x ^ (x >> 31)) | 1;
}

inline uint8_t* TrailerAt(void* address, size_t usable) {
  return static_cast<uint8_t*>(address) + usable - kTrailerBytes;
}

// False (nothing written) if the usable size cannot hold the block and its trailer: that
// would mean the usable-size function does not belong to the allocator serving malloc.
inline bool WriteTrailer(void* address, size_t size, uint64_t generation) {
  const size_t usable = g_usable_size(address);
  if (usable < size + kTrailerBytes) return false;
  const Trailer trailer{size, Tag(address, generation)};
  memcpy(TrailerAt(address, usable), &trailer, sizeof trailer);
  return true;
}

// The tracked size of `address` in this session, or false for a block we did not allocate
// in it. `where` receives the trailer position so the caller can clear it.
inline bool ReadTrailer(void* address, uint64_t generation, size_t* size, uint8_t** where) {
  const size_t usable = g_usable_size(address);
  if (usable < kTrailerBytes) return false;
  Trailer trailer;
  *where = TrailerAt(address, usable);
  memcpy(&trailer, *where, sizeof trailer);
  if (trailer.tag != Tag(address, generation) || trailer.size > usable - kTrailerBytes) return false;
  *size = trailer.size;
  return true;
}

inline void ClearTrailer(uint8_t* where) { memset(where, 0, kTrailerBytes); }

// OpenSSL's own CRYPTO_malloc returns NULL for 0 bytes; so do we.
inline void* PlainMalloc(size_t num) { return num == 0 ? nullptr : malloc(num); }

void* CountedMalloc(size_t num, uint64_t generation) {
  if (num == 0 || num > SIZE_MAX - kTrailerBytes) return num == 0 ? nullptr : malloc(num);
  void* address = malloc(num + kTrailerBytes);
  if (address == nullptr) return nullptr;
  if (WriteTrailer(address, num, generation)) CountAllocation(generation, num);
  return address;
}

void CountedFree(void* address, uint64_t generation) {
  size_t size = 0;
  uint8_t* where = nullptr;
  if (ReadTrailer(address, generation, &size, &where)) {
    // Cleared so a later block at this address cannot inherit a valid tag.
    ClearTrailer(where);
    CountFree(generation, size);
  }
  free(address);
}

uint64_t SeedSecret() {
  uint64_t secret = 0;
  if (getrandom(&secret, sizeof secret, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof secret)) {
    const uint64_t now = MonotonicNanos();
    secret = now * 0x9e3779b97f4a7c15ull ^ reinterpret_cast<uintptr_t>(&now);
  }
  return secret;
}

}  // namespace

void PrepareHooks(UsableSizeFn usable_size) {
  if (g_usable_size != nullptr) return;
  g_secret = SeedSecret();
  g_usable_size = usable_size;
}

void SetCountingGeneration(uint64_t generation) { g_generation.store(generation, std::memory_order_release); }

void* TrackedMalloc(size_t num, const char* file, int line) {
  const uint64_t generation = g_generation.load(std::memory_order_acquire);
  return generation == 0 ? PlainMalloc(num) : CountedMalloc(num, generation);
}

void TrackedFree(void* address, const char* file, int line) {
  if (address == nullptr) return;
  const uint64_t generation = g_generation.load(std::memory_order_acquire);
  if (generation == 0) return free(address);
  CountedFree(address, generation);
}

// Same contract as OpenSSL's CRYPTO_realloc: NULL allocates, 0 bytes frees and returns NULL.
void* TrackedRealloc(void* address, size_t num, const char* file, int line) {
  const uint64_t generation = g_generation.load(std::memory_order_acquire);
  if (address == nullptr) return generation == 0 ? PlainMalloc(num) : CountedMalloc(num, generation);
  if (num == 0) {
    if (generation == 0)
      free(address);
    else
      CountedFree(address, generation);
    return nullptr;
  }
  if (generation == 0 || num > SIZE_MAX - kTrailerBytes) return realloc(address, num);
  size_t old_size = 0;
  uint8_t* where = nullptr;
  const bool tracked = ReadTrailer(address, generation, &old_size, &where);
  // Cleared first: if realloc moves the block, the old memory must not keep a valid tag.
  if (tracked) ClearTrailer(where);
  void* moved = realloc(address, num + kTrailerBytes);
  if (moved == nullptr) {
    if (tracked) WriteTrailer(address, old_size, generation);  // the old block stays valid
    return nullptr;
  }
  if (!WriteTrailer(moved, num, generation)) {
    if (tracked) CountFree(generation, old_size);  // the block leaves tracking
    return moved;
  }
  CountRealloc(generation, tracked, old_size, num);
  return moved;
}

}  // namespace sockprobe
