#include "common/elf_symbols.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sockprobe {

namespace {

// A read-only private mapping of the whole file: only the pages we touch are read, so a
// 100 MB executable with debug info costs a few megabytes of page cache.
class MappedFile {
 public:
  explicit MappedFile(const std::string& path) {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      error_ = errno;
      return;
    }
    struct stat st {};
    if (fstat(fd, &st) == 0 && st.st_size > 0) {
      void* data = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
      if (data != MAP_FAILED) {
        data_ = static_cast<const uint8_t*>(data);
        size_ = static_cast<size_t>(st.st_size);
      } else
        error_ = errno;
    }
    close(fd);
  }
  ~MappedFile() {
    if (data_ != nullptr) munmap(const_cast<uint8_t*>(data_), size_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  // Pointer to [offset, offset + length) when it lies inside the file, else nullptr.
  const uint8_t* At(uint64_t offset, uint64_t length) const {
    if (data_ == nullptr || offset > size_ || length > size_ - offset) return nullptr;
    return data_ + offset;
  }
  int error() const { return error_; }

 private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  int error_ = 0;
};

// The machine this addon runs on: a symbol table of another machine's file says nothing here.
#if defined(__aarch64__)
constexpr uint16_t kMachine = EM_AARCH64;
constexpr const char* kMachineName = "AArch64";
#else
constexpr uint16_t kMachine = EM_X86_64;
constexpr const char* kMachineName = "x86-64";
#endif

// The file's section headers when it is a 64-bit little-endian ELF file of this machine with some, else
// nullptr with `why` set.
const Elf64_Shdr* Sections(const MappedFile& file, const std::string& path, const Elf64_Ehdr** out, std::string* why) {
  const auto* header = reinterpret_cast<const Elf64_Ehdr*>(file.At(0, sizeof(Elf64_Ehdr)));
  if (header == nullptr) {
    *why = "cannot read " + path + (file.error() ? std::string(": ") + strerror(file.error()) : std::string());
    return nullptr;
  }
  if (memcmp(header->e_ident, ELFMAG, SELFMAG) != 0 || header->e_ident[EI_CLASS] != ELFCLASS64 ||
      header->e_ident[EI_DATA] != ELFDATA2LSB || header->e_machine != kMachine ||
      header->e_shentsize != sizeof(Elf64_Shdr)) {
    *why = path + " is not a 64-bit little-endian " + kMachineName + " ELF file";
    return nullptr;
  }
  const auto* sections = reinterpret_cast<const Elf64_Shdr*>(
      file.At(header->e_shoff, static_cast<uint64_t>(header->e_shnum) * sizeof(Elf64_Shdr)));
  if (sections == nullptr || header->e_shnum == 0) {
    *why = path + " has no section headers";
    return nullptr;
  }
  *out = header;
  return sections;
}

}  // namespace

bool ElfBuildId(const std::string& file_path, std::string* hex) {
  MappedFile file(file_path);
  const Elf64_Ehdr* header = nullptr;
  std::string why;
  const Elf64_Shdr* sections = Sections(file, file_path, &header, &why);
  if (sections == nullptr) return false;
  for (unsigned i = 0; i < header->e_shnum; ++i) {
    if (sections[i].sh_type != SHT_NOTE) continue;
    const uint8_t* notes = file.At(sections[i].sh_offset, sections[i].sh_size);
    if (notes == nullptr) continue;
    // Each note: namesz, descsz, type, then name and desc, each padded to 4 bytes.
    for (uint64_t at = 0; sections[i].sh_size - at >= sizeof(Elf64_Nhdr);) {
      Elf64_Nhdr note;
      memcpy(&note, notes + at, sizeof note);
      const uint64_t name_size = (uint64_t{note.n_namesz} + 3) & ~uint64_t{3};
      const uint64_t desc_size = (uint64_t{note.n_descsz} + 3) & ~uint64_t{3};
      const uint64_t body = at + sizeof note;
      if (name_size + desc_size > sections[i].sh_size - body) break;
      if (note.n_type == NT_GNU_BUILD_ID && note.n_namesz == 4 && memcmp(notes + body, "GNU", 4) == 0 &&
          note.n_descsz > 0) {
        static const char kDigits[] = "0123456789abcdef";
        hex->clear();
        for (uint32_t b = 0; b < note.n_descsz; ++b) {
          const uint8_t byte = notes[body + name_size + b];
          hex->push_back(kDigits[byte >> 4]);
          hex->push_back(kDigits[byte & 15]);
        }
        return true;
      }
      at = body + name_size + desc_size;
    }
  }
  return false;
}

bool ForEachElfSymbol(const std::string& file_path, const std::string& path,
                      const std::function<void(const ElfSymbol&)>& visit, std::string* why) {
  MappedFile file(file_path);
  const Elf64_Ehdr* header = nullptr;
  const Elf64_Shdr* sections = Sections(file, path, &header, why);
  if (sections == nullptr) return false;
  const Elf64_Shdr* symtab = nullptr;
  for (unsigned i = 0; i < header->e_shnum; ++i) {
    if (sections[i].sh_type == SHT_SYMTAB) {
      symtab = &sections[i];
      break;
    }
  }
  if (symtab == nullptr || symtab->sh_link >= header->e_shnum || symtab->sh_entsize != sizeof(Elf64_Sym)) {
    *why = path + " has no symbol table (.symtab): it is stripped";
    return false;
  }
  const Elf64_Shdr& strtab = sections[symtab->sh_link];
  const auto* symbols = reinterpret_cast<const Elf64_Sym*>(file.At(symtab->sh_offset, symtab->sh_size));
  const auto* strings = reinterpret_cast<const char*>(file.At(strtab.sh_offset, strtab.sh_size));
  // A string table ending in NUL makes every in-range name a bounded C string.
  if (symbols == nullptr || strings == nullptr || strtab.sh_size == 0 || strings[strtab.sh_size - 1] != '\0') {
    *why = path + " has a truncated symbol table";
    return false;
  }
  const size_t count = symtab->sh_size / sizeof(Elf64_Sym);
  const char* current_file = "";
  for (size_t i = 0; i < count; ++i) {
    const Elf64_Sym& symbol = symbols[i];
    if (symbol.st_name >= strtab.sh_size) continue;
    const unsigned type = ELF64_ST_TYPE(symbol.st_info);
    if (type == STT_FILE) {
      current_file = strings + symbol.st_name;
      continue;
    }
    if ((type != STT_OBJECT && type != STT_FUNC) || symbol.st_shndx == SHN_UNDEF) continue;
    const bool local = ELF64_ST_BIND(symbol.st_info) == STB_LOCAL;
    visit(ElfSymbol{strings + symbol.st_name, local ? current_file : "", symbol.st_value, symbol.st_size, local,
                    type == STT_OBJECT, type == STT_FUNC});
  }
  return true;
}

}  // namespace sockprobe
