// The GOT slots the heap profiler would rewrite (native/heap/got.cc's FindSlots), read from a
// loaded shared object's dynamic relocations, against readelf's relocation listing of its
// file and against what the loader bound each slot to.
#include "heap/got.h"

#include <dlfcn.h>
#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "check.h"
#include "heap/functions.h"
#include "heap/maps.h"
#include "heap/objects.h"
#include "tools.h"

using namespace sockprobe::heap;

namespace {

// (offset in the file's address space, symbol, index in .rela.plt or -1).
using Reloc = std::tuple<uint64_t, std::string, long>;

bool Intercepted(const std::string& name) {
  for (int fn = 0; fn < kFnCount; ++fn)
    if (name == Function(fn).name) return true;
  return false;
}

// readelf -rW: jump slots, GOT entries and addend-free data pointers naming a function the
// profiler intercepts.
std::set<Reloc> ReadelfSlots(const std::string& path) {
  std::set<Reloc> slots;
  bool plt = false;
  long index = 0;
  for (const std::string& line : tools::Lines(tools::Output("readelf -rW " + path))) {
    if (line.rfind("Relocation section '", 0) == 0) {
      plt = line.find("'.rela.plt'") != std::string::npos;
      index = 0;
      continue;
    }
    const std::vector<std::string> w = tools::Words(line);
    if (w.size() < 2 || w[1].size() != 16 || w[0] == "Offset") continue;
    const long this_index = index++;
    if (w.size() < 7 || w[5] != "+" || w[6] != "0") continue;
    const std::string& type = w[2];
    if (type != "R_X86_64_JUMP_SLOT" && type != "R_X86_64_GLOB_DAT" && type != "R_X86_64_64") continue;
    const std::string name = w[4].substr(0, w[4].find('@'));
    if (!Intercepted(name)) continue;
    slots.insert(
        {std::strtoull(w[0].c_str(), nullptr, 16), name, plt && type == "R_X86_64_JUMP_SLOT" ? this_index : -1});
  }
  return slots;
}

}  // namespace

TEST(got_slots_match_readelf_and_the_loader) {
  const std::string path = tools::Fixture("fixture.so");
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  CHECK(handle != nullptr);
  if (handle == nullptr) return;
  const LoadedObject* fixture = nullptr;
  const std::vector<LoadedObject> objects = ListObjects();
  for (const LoadedObject& object : objects)
    if (object.name == path) fixture = &object;
  CHECK(fixture != nullptr);
  if (fixture == nullptr) return;
  const Maps maps = Maps::ReadSelf();
  CHECK(!maps.empty());
  std::set<Reloc> found;
  for (const Slot& slot : FindSlots(*fixture, maps)) {
    const std::string name = Function(slot.fn).name;
    found.insert({reinterpret_cast<uintptr_t>(slot.address) - fixture->bias, name, slot.jmprel_index});
    // The second source the profiler asks before a write: the loader bound the slot (RTLD_NOW)
    // to the definition the global scope gives the name.
    CHECK_EQ(*slot.address, reinterpret_cast<uintptr_t>(dlsym(RTLD_DEFAULT, name.c_str())));
    CHECK(slot.prot >= 0 && (slot.prot & PROT_READ) != 0);
  }
  const std::set<Reloc> expected = ReadelfSlots(path);
  CHECK_EQ(found.size(), expected.size());
  CHECK(found == expected);
  // The fixture reaches malloc by all three kinds of relocation, and free through its GOT.
  std::set<std::string> names;
  for (const Reloc& r : expected) names.insert(std::get<1>(r));
  CHECK(names.count("malloc") == 1 && names.count("free") == 1 && names.count("calloc") == 1);
  CHECK(names.count("_Znwm") == 1);
  CHECK(expected.size() >= 6);
}

TEST(got_no_maps_no_slots) {
  for (const LoadedObject& object : ListObjects()) CHECK(FindSlots(object, Maps()).empty());
}

// The bound every read of a loaded object's memory is checked against: one PT_LOAD segment,
// as readelf -l gives them, with no wrap-around for huge sizes or addresses.
TEST(loaded_object_contains_its_segments_only) {
  const std::string path = tools::Fixture("fixture.so");
  CHECK(dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL) != nullptr);
  const std::vector<LoadedObject> objects = ListObjects();
  const LoadedObject* fixture = nullptr;
  for (const LoadedObject& object : objects)
    if (object.name == path) fixture = &object;
  CHECK(fixture != nullptr);
  if (fixture == nullptr) return;
  size_t segments = 0;
  for (const std::string& line : tools::Lines(tools::Output("readelf -lW " + path))) {
    const std::vector<std::string> w = tools::Words(line);
    if (w.size() < 6 || w[0] != "LOAD") continue;
    ++segments;
    const uintptr_t start = fixture->bias + std::strtoull(w[2].c_str(), nullptr, 16);
    const size_t size = std::strtoull(w[5].c_str(), nullptr, 16);
    CHECK(fixture->Contains(start, size));
    CHECK(fixture->Contains(start + size - 8, 8));
    CHECK(!fixture->Contains(start, SIZE_MAX));
  }
  CHECK(segments >= 2);
  CHECK(!fixture->Contains(fixture->bias - 4096, 8));
  CHECK(!fixture->Contains(UINTPTR_MAX - 4, 16));
}
