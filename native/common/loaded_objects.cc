#include "common/loaded_objects.h"

#include <atomic>
#include <cstring>

namespace sockprobe {

namespace {

struct Record {
  uintptr_t bias;
  size_t name_at, name_length;
  size_t phdrs_at, phdr_count;
};

// Reserved before the walk. The callback counts what every object needs even past the
// reservation, so one more walk with that much room fits.
struct Storage {
  Record* records;
  size_t record_room, record_count;
  char* names;
  size_t name_room, name_bytes;
  ElfW(Phdr)* phdrs;
  size_t phdr_room, phdr_count;
};

// Runs under the loader's lock: no allocation, no lock, no call but strlen and memcpy
// (bound at load time: the addon links -z now, so no lazy resolver runs here either).
int CopyOne(dl_phdr_info* info, size_t, void* data) {
  auto* s = static_cast<Storage*>(data);
  const char* name = info->dlpi_name != nullptr ? info->dlpi_name : "";
  const size_t length = strlen(name);
  const size_t index = s->record_count++;
  const size_t name_at = s->name_bytes;
  const size_t phdrs_at = s->phdr_count;
  s->name_bytes += length;
  s->phdr_count += info->dlpi_phnum;
  if (index < s->record_room && s->name_bytes <= s->name_room && s->phdr_count <= s->phdr_room) {
    memcpy(s->names + name_at, name, length);
    memcpy(s->phdrs + phdrs_at, info->dlpi_phdr, info->dlpi_phnum * sizeof(ElfW(Phdr)));
    s->records[index] = Record{info->dlpi_addr, name_at, length, phdrs_at, info->dlpi_phnum};
  }
  return 0;
}

// What the last walk needed: the next one reserves as much, so one walk is the rule.
std::atomic<size_t> g_last_records{64}, g_last_name_bytes{8192}, g_last_phdrs{1024};

}  // namespace

std::vector<ObjectCopy> CopyLoadedObjects() noexcept {
  size_t record_room = g_last_records.load(std::memory_order_relaxed) + 16;
  size_t name_room = g_last_name_bytes.load(std::memory_order_relaxed) + 4096;
  size_t phdr_room = g_last_phdrs.load(std::memory_order_relaxed) + 256;
  for (int attempt = 0; attempt < 8; ++attempt) {
    std::vector<Record> records(record_room);
    std::vector<char> names(name_room);
    std::vector<ElfW(Phdr)> phdrs(phdr_room);
    Storage storage{records.data(), record_room, 0, names.data(), name_room, 0, phdrs.data(), phdr_room, 0};
    dl_iterate_phdr(CopyOne, &storage);
    if (storage.record_count <= record_room && storage.name_bytes <= name_room && storage.phdr_count <= phdr_room) {
      g_last_records.store(storage.record_count, std::memory_order_relaxed);
      g_last_name_bytes.store(storage.name_bytes, std::memory_order_relaxed);
      g_last_phdrs.store(storage.phdr_count, std::memory_order_relaxed);
      std::vector<ObjectCopy> objects(storage.record_count);
      for (size_t i = 0; i < storage.record_count; ++i) {
        const Record& r = records[i];
        objects[i].name.assign(names.data() + r.name_at, r.name_length);
        objects[i].bias = r.bias;
        objects[i].phdrs.assign(phdrs.data() + r.phdrs_at, phdrs.data() + r.phdrs_at + r.phdr_count);
      }
      return objects;
    }
    // Objects were loaded since the reservation: room for all of them, and some more.
    record_room = storage.record_count * 2;
    name_room = storage.name_bytes * 2;
    phdr_room = storage.phdr_count * 2;
  }
  return {};
}

}  // namespace sockprobe
