// Reads an ELF file's full symbol table (.symtab), which the loader never maps: the only
// place private (static) variables of a statically linked library are named.
#pragma once
#include <cstdint>
#include <functional>
#include <string>

namespace sockprobe {

struct ElfSymbol {
  const char* name;  // NUL-terminated, inside the mapped string table
  const char* file;  // for a local symbol, the STT_FILE entry it follows ("mem.c"); else ""
  uint64_t value;    // link-time address (run-time address minus the load bias)
  uint64_t size;
  bool local;
  bool object;    // STT_OBJECT (data)
  bool function;  // STT_FUNC
};

// Calls `visit` for every defined data or function symbol of `file_path`'s .symtab, in table
// order (a file's local symbols follow its STT_FILE entry). `path` names the file in
// messages (e.g. the real path of /proc/self/exe). Returns false with `why` set when the file
// cannot be read, is not a 64-bit ELF of this machine, or has no .symtab (stripped). The file is
// mapped read-only only for the duration of the call.
bool ForEachElfSymbol(const std::string& file_path, const std::string& path,
                      const std::function<void(const ElfSymbol&)>& visit, std::string* why);

// The GNU build ID of `file_path` (its NT_GNU_BUILD_ID note, in lower-case hex): what names the
// separate debug file (/usr/lib/debug/.build-id/xx/rest.debug) that keeps a stripped
// library's .symtab. false when the file cannot be read or has no such note.
bool ElfBuildId(const std::string& file_path, std::string* hex);

}  // namespace sockprobe
