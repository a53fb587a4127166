#include "heap/symbolize.h"

#include <cxxabi.h>
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <sys/mman.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "heap/maps.h"
#include "heap/objects.h"
#include "openssl/elf_symbols.h"

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
  for (size_t i = 0; i < addresses.size(); ++i) {
    FrameInfo& frame = frames[i];
    frame.address = addresses[i];
    // A return address points after the call; the call itself is one byte before.
    const uintptr_t lookup = addresses[i] - 1;
    Dl_info info{};
    const ElfW(Sym)* symbol = nullptr;
    if (dladdr1(reinterpret_cast<void*>(lookup), &info, const_cast<void**>(reinterpret_cast<const void**>(&symbol)), RTLD_DL_SYMENT) != 0 &&
        info.dli_fname != nullptr) {
      frame.kind = FrameKind::kNative;
      const bool exe = executable != nullptr && executable->Contains(lookup, 1);
      frame.module = exe ? exe_path : info.dli_fname;
      frame.offset = addresses[i] - reinterpret_cast<uintptr_t>(info.dli_fbase);
      frame.own = !own.empty() && own == info.dli_fname;
      const auto start = reinterpret_cast<uintptr_t>(info.dli_saddr);
      if (info.dli_sname != nullptr && symbol != nullptr && (symbol->st_size == 0 || lookup < start + symbol->st_size)) {
        frame.name = Demangle(info.dli_sname);
      }
      if (exe && frame.name.empty()) in_executable.emplace_back(lookup, i);
      continue;
    }
    const Mapping* mapping = maps.Find(lookup);
    if (mapping != nullptr && mapping->anonymous && (mapping->prot & PROT_EXEC) != 0) frame.kind = FrameKind::kJavascript;
  }
  if (!in_executable.empty()) {
    std::sort(in_executable.begin(), in_executable.end());
    const uintptr_t bias = executable->bias;
    std::string why;
    ForEachElfSymbol("/proc/self/exe", exe_path, [&](const ElfSymbol& symbol) {
      if (!symbol.function || symbol.size == 0) return;
      const uintptr_t start = symbol.value + bias;
      auto it = std::lower_bound(in_executable.begin(), in_executable.end(), std::make_pair(start, size_t{0}));
      for (; it != in_executable.end() && it->first < start + symbol.size; ++it) {
        FrameInfo& frame = frames[it->second];
        if (frame.name.empty()) frame.name = Demangle(symbol.name);
      }
    }, &why);
  }
  return frames;
}

}  // namespace heap
}  // namespace sockprobe
