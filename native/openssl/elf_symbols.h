// Reads an ELF file's full symbol table (.symtab), which the loader never maps: the only
// place private (static) variables of a statically linked library are named.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace sockprobe {

// One symbol we expect at a known link-time address, and what the table says about it.
struct ElfSymbolQuery {
  std::string name;
  uint64_t value;        // link-time address (run-time address minus the load bias)
  bool found = false;    // a defined symbol of this name sits at this address
  uint64_t size = 0;
  bool local = false;
  bool object = false;   // STT_OBJECT (data) rather than code
};

// Answers each query from the file's .symtab. Returns false with `why` set when the file
// cannot be read, is not a 64-bit x86-64 ELF, or has no .symtab (stripped). Compares
// addresses first and reads a name only where an address matches, so a 100k-symbol table
// costs one pass over the symbol array.
bool QueryElfSymbols(const std::string& path, std::vector<ElfSymbolQuery>* queries, std::string* why);
// Same, reading `file_path` (e.g. /proc/self/exe) while naming it `path` in messages.
bool QueryElfSymbols(const std::string& file_path, const std::string& path, std::vector<ElfSymbolQuery>* queries, std::string* why);

}  // namespace sockprobe
