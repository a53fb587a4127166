#include "heap/symbolize.h"

#include <cxxabi.h>
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <map>
#include <utility>

#include "common/elf_symbols.h"
#include "heap/maps.h"
#include "heap/objects.h"

namespace sockprobe {
namespace heap {

namespace {

std::string Demangle(const char* name) {
  if (name == nullptr) return "";
  if (name[0] != '_' || name[1] != 'Z') return name;
  int status = 0;
  char* demangled = abi::__cxa_demangle(name, nullptr, nullptr, &status);
  if (status != 0 || demangled == nullptr) return name;
  std::string result(demangled);
  free(demangled);
  return result;
}

std::string OwnModule() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&OwnModule), &info) == 0 || info.dli_fname == nullptr) return "";
  return info.dli_fname;
}

// The file is read only when it is still the one mapped (the kernel's inode for the frames'
// mapping is the path's, and so is the device, except on overlayfs, where a kernel may show the
// underlying layer's device in /proc/self/maps; 6.18 shows the overlay's): a library upgraded on
// disk since it was loaded (a new file, a new inode) is not read.
bool StillMapped(const std::string& path, const Mapping& mapped) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0 || st.st_ino != mapped.inode) return false;
  if (((static_cast<uint64_t>(major(st.st_dev)) << 32) | minor(st.st_dev)) == mapped.device) return true;
  struct statfs fs {};
  constexpr long kOverlayfsMagic = 0x794c7630;
  return statfs(path.c_str(), &fs) == 0 && static_cast<long>(fs.f_type) == kOverlayfsMagic;
}

// Names `wanted` frames (link-time address, frame index) of the shared object at `path` from a
// full symbol table: the object's own .symtab, else the separate debug file its distribution
// installs under /usr/lib/debug/.build-id (libc6-dbg, …), taken only when its build ID is the
// object's. Frames no symbol covers keep module + offset.
void NameFromSymtab(const std::string& path, const Mapping& mapped, std::vector<std::pair<uintptr_t, size_t>>* wanted,
                    std::vector<FrameInfo>* frames) {
  if (!StillMapped(path, mapped)) return;
  std::sort(wanted->begin(), wanted->end());
  auto visit = [&](const ElfSymbol& symbol) {
    if (!symbol.function || symbol.size == 0) return;
    auto it = std::lower_bound(wanted->begin(), wanted->end(),
                               std::make_pair(static_cast<uintptr_t>(symbol.value), size_t{0}));
    for (; it != wanted->end() && it->first < symbol.value + symbol.size; ++it) {
      FrameInfo& frame = (*frames)[it->second];
      if (frame.name.empty()) frame.name = Demangle(symbol.name);
    }
  };
  std::string why;
  if (ForEachElfSymbol(path, path, visit, &why)) return;
  std::string id;
  if (!ElfBuildId(path, &id) || id.size() < 4) return;
  const std::string debug = "/usr/lib/debug/.build-id/" + id.substr(0, 2) + "/" + id.substr(2) + ".debug";
  std::string debug_id;
  if (!ElfBuildId(debug, &debug_id) || debug_id != id) return;
  ForEachElfSymbol(debug, debug, visit, &why);
}

}  // namespace

std::string ExecutablePath() {
  char path[PATH_MAX];
  if (realpath("/proc/self/exe", path) == nullptr) return "/proc/self/exe";
  return path;
}

std::vector<FrameInfo> Symbolize(const std::vector<uintptr_t>& addresses) {
  std::vector<FrameInfo> frames(addresses.size());
  const Maps maps = Maps::ReadSelf();
  const std::vector<LoadedObject> objects = ListObjects();
  const LoadedObject* executable = objects.empty() ? nullptr : &objects[0];
  const std::string exe_path = ExecutablePath();
  static const std::string own = OwnModule();
  // (lookup address, frame index) of executable frames, for one pass over its .symtab.
  std::vector<std::pair<uintptr_t, size_t>> in_executable;
  // Per shared object with frames dladdr left unnamed (its .dynsym does not cover them):
  // (link-time address, frame index), for its own .symtab or its separate debug file's.
  struct Unnamed {
    const Mapping* mapped = nullptr;
    std::vector<std::pair<uintptr_t, size_t>> frames;
  };
  std::map<std::string, Unnamed> in_objects;
  // Names a frame from the loader's view of `lookup` (the call, one byte before the return
  // address); false when no loaded object holds it.
  auto from_loader = [&](FrameInfo& frame, uintptr_t lookup, size_t i) {
    Dl_info info{};
    const ElfW(Sym)* symbol = nullptr;
    if (dladdr1(reinterpret_cast<void*>(lookup), &info, const_cast<void**>(reinterpret_cast<const void**>(&symbol)),
                RTLD_DL_SYMENT) == 0 ||
        info.dli_fname == nullptr) {
      return false;
    }
    frame.kind = FrameKind::kNative;
    const bool exe = executable != nullptr && executable->Contains(lookup, 1);
    frame.module = exe ? exe_path : info.dli_fname;
    frame.offset = lookup + 1 - reinterpret_cast<uintptr_t>(info.dli_fbase);
    frame.own = !own.empty() && own == info.dli_fname;
    const auto start = reinterpret_cast<uintptr_t>(info.dli_saddr);
    if (info.dli_sname != nullptr && symbol != nullptr && (symbol->st_size == 0 || lookup < start + symbol->st_size)) {
      frame.name = Demangle(info.dli_sname);
    }
    if (frame.name.empty()) {
      if (exe) {
        in_executable.emplace_back(lookup, i);
      } else {
        for (const LoadedObject& object : objects) {
          if (object.executable || !object.Contains(lookup, 1)) continue;
          const Mapping* mapped = maps.Find(lookup);
          if (object.name != info.dli_fname || mapped == nullptr || mapped->anonymous) break;
          Unnamed& unnamed = in_objects[object.name];
          if (unnamed.mapped == nullptr) unnamed.mapped = mapped;
          if (mapped->inode == unnamed.mapped->inode && mapped->device == unnamed.mapped->device)
            unnamed.frames.emplace_back(lookup - object.bias, i);
          break;
        }
      }
    }
    return true;
  };
  for (size_t i = 0; i < addresses.size(); ++i) {
    FrameInfo& frame = frames[i];
    frame.address = addresses[i];
    // A return address points after the call; the call itself is one byte before.
    const uintptr_t lookup = addresses[i] - 1;
    if (from_loader(frame, lookup, i)) continue;
    const Mapping* mapping = maps.Find(lookup);
    if (mapping == nullptr || (mapping->prot & PROT_EXEC) == 0) continue;
    if (mapping->anonymous) {
      frame.kind = FrameKind::kJavascript;
      continue;
    }
    // V8's embedded builtins (Builtins_*) run from a second mapping of the executable file
    // (CodeRange::RemapEmbeddedBuiltins), where the loader knows nothing. The kernel says which
    // file bytes these are; the loader's own mapping of the same bytes, inside the executable's
    // PT_LOAD, names them as the executable's frames: the same name and module offset as the
    // original, the address as run.
    if (executable == nullptr) continue;
    const uint64_t file_offset = mapping->file_offset + (lookup - mapping->start);
    const Mapping* original = maps.OtherMappingOfFile(*mapping, file_offset);
    if (original == nullptr) continue;
    const uintptr_t original_lookup = original->start + (file_offset - original->file_offset);
    if (!executable->Contains(original_lookup, 1)) continue;
    from_loader(frame, original_lookup, i);
  }
  if (!in_executable.empty()) {
    std::sort(in_executable.begin(), in_executable.end());
    const uintptr_t bias = executable->bias;
    std::string why;
    ForEachElfSymbol(
        "/proc/self/exe", exe_path,
        [&](const ElfSymbol& symbol) {
          if (!symbol.function || symbol.size == 0) return;
          const uintptr_t start = symbol.value + bias;
          auto it = std::lower_bound(in_executable.begin(), in_executable.end(), std::make_pair(start, size_t{0}));
          for (; it != in_executable.end() && it->first < start + symbol.size; ++it) {
            FrameInfo& frame = frames[it->second];
            if (frame.name.empty()) frame.name = Demangle(symbol.name);
          }
        },
        &why);
  }
  for (auto& [path, unnamed] : in_objects) NameFromSymtab(path, *unnamed.mapped, &unnamed.frames, &frames);
  return frames;
}

}  // namespace heap
}  // namespace sockprobe
