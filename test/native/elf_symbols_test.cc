// The ELF readers (native/common/elf_symbols.*) on a shared object built for the test, against
// what readelf and nm print and where the loader puts its symbols; and on stripped, debug-only,
// truncated, empty, missing and non-ELF files.
#include "common/elf_symbols.h"

#include <dlfcn.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "check.h"
#include "tools.h"

using sockprobe::ElfBuildId;
using sockprobe::ElfSymbol;
using sockprobe::ForEachElfSymbol;

namespace {

struct Row {
  std::string name, file;
  uint64_t value, size;
  bool local, object;
  bool operator==(const Row& o) const {
    return name == o.name && file == o.file && value == o.value && size == o.size && local == o.local &&
           object == o.object;
  }
};
std::ostream& operator<<(std::ostream& out, const Row& r) {
  return out << r.name << " (" << r.file << ") " << std::hex << r.value << std::dec << " size " << r.size
             << (r.local ? " local" : " global") << (r.object ? " object" : " function");
}
std::vector<Row> Read(const std::string& path, bool* ok, std::string* why) {
  std::vector<Row> rows;
  *ok = ForEachElfSymbol(
      path, path,
      [&](const ElfSymbol& s) {
        rows.push_back({s.name, s.file, s.value, s.size, s.local, s.object});
      },
      why);
  return rows;
}

// readelf -sW's .symtab, in table order: defined FUNC and OBJECT symbols, each local one with
// the FILE entry it follows.
std::vector<Row> Readelf(const std::string& path) {
  std::vector<Row> rows;
  bool in_symtab = false;
  std::string file;
  for (const std::string& line : tools::Lines(tools::Output("readelf -sW " + path))) {
    if (line.find("Symbol table '") != std::string::npos) {
      in_symtab = line.find("'.symtab'") != std::string::npos;
      continue;
    }
    const std::vector<std::string> w = tools::Words(line);
    if (!in_symtab || w.size() < 7 || w[0].back() != ':' || w[0] == "Num:") continue;
    const std::string name = w.size() > 7 ? w[7] : "";
    if (w[3] == "FILE") {
      file = name;
      continue;
    }
    if ((w[3] != "FUNC" && w[3] != "OBJECT") || w[6] == "UND") continue;
    const bool local = w[4] == "LOCAL";
    rows.push_back({name, local ? file : "", std::strtoull(w[1].c_str(), nullptr, 16),
                    std::strtoull(w[2].c_str(), nullptr, 0), local, w[3] == "OBJECT"});
  }
  return rows;
}

uint64_t ValueOf(const std::vector<Row>& rows, const std::string& name) {
  for (const Row& r : rows)
    if (r.name == name) return r.value;
  return 0;
}

std::string ReadelfBuildId(const std::string& path) {
  for (const std::string& line : tools::Lines(tools::Output("readelf -n " + path))) {
    const size_t at = line.find("Build ID: ");
    if (at != std::string::npos) return line.substr(at + 10);
  }
  return "";
}

}  // namespace

TEST(elf_symbols_match_readelf) {
  const std::string path = tools::Fixture("fixture.so");
  bool ok = false;
  std::string why;
  const std::vector<Row> rows = Read(path, &ok, &why);
  CHECK(ok);
  CHECK_EQ(why, "");
  const std::vector<Row> expected = Readelf(path);
  CHECK(expected.size() >= 8);
  CHECK_EQ(rows, expected);
  // The static variable, named only in .symtab, with the source file it belongs to.
  bool counter = false;
  for (const Row& r : rows) counter = counter || (r.name == "_ZL15fixture_counter" && r.local && r.object);
  CHECK(counter);
}

// A global function's link-time address: what nm prints, and where the loader put it minus
// the object's load bias.
TEST(elf_symbols_address_matches_nm_and_the_loader) {
  const std::string path = tools::Fixture("fixture.so");
  bool ok = false;
  std::string why;
  const uint64_t value = ValueOf(Read(path, &ok, &why), "fixture_allocate");
  CHECK(ok);
  uint64_t nm_value = 0;
  for (const std::string& line : tools::Lines(tools::Output("nm -D --defined-only " + path))) {
    const std::vector<std::string> w = tools::Words(line);
    if (w.size() == 3 && w[2] == "fixture_allocate") nm_value = std::strtoull(w[0].c_str(), nullptr, 16);
  }
  CHECK(nm_value != 0);
  CHECK_EQ(value, nm_value);
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  CHECK(handle != nullptr);
  if (handle == nullptr) return;
  void* address = dlsym(handle, "fixture_allocate");
  Dl_info info{};
  CHECK(address != nullptr && dladdr(address, &info) != 0);
  CHECK_EQ(reinterpret_cast<uintptr_t>(address) - reinterpret_cast<uintptr_t>(info.dli_fbase), value);
}

TEST(elf_build_id_matches_readelf) {
  const std::string path = tools::Fixture("fixture.so");
  std::string id;
  CHECK(ElfBuildId(path, &id));
  CHECK_EQ(id.size(), 40u);  // the test builds with --build-id=sha1
  CHECK_EQ(id, ReadelfBuildId(path));
  std::string none;
  CHECK(!ElfBuildId(tools::Fixture("fixture-no-build-id.so"), &none));
  CHECK_EQ(none, "");
}

// What symbolize.cc does for a stripped library: the same build ID names a debug file whose
// .symtab gives the same addresses.
TEST(elf_stripped_file_and_its_debug_file) {
  const std::string stripped = tools::Fixture("fixture-stripped.so");
  const std::string debug = tools::Fixture("fixture.debug");
  bool ok = true;
  std::string why;
  const std::vector<Row> none = Read(stripped, &ok, &why);
  CHECK(!ok);
  CHECK(none.empty());
  CHECK_EQ(why, stripped + " has no symbol table (.symtab): it is stripped");
  std::string stripped_id, debug_id, id;
  CHECK(ElfBuildId(stripped, &stripped_id));
  CHECK(ElfBuildId(debug, &debug_id));
  CHECK(ElfBuildId(tools::Fixture("fixture.so"), &id));
  CHECK_EQ(stripped_id, id);
  CHECK_EQ(debug_id, id);
  const std::vector<Row> from_debug = Read(debug, &ok, &why);
  CHECK(ok);
  const std::vector<Row> from_library = Read(tools::Fixture("fixture.so"), &ok, &why);
  CHECK(ValueOf(from_debug, "fixture_allocate") != 0);
  CHECK_EQ(ValueOf(from_debug, "fixture_allocate"), ValueOf(from_library, "fixture_allocate"));
  CHECK_EQ(ValueOf(from_debug, "_ZL15fixture_counter"), ValueOf(from_library, "_ZL15fixture_counter"));
}

TEST(elf_bad_files_are_refused_with_a_reason) {
  bool ok = true;
  std::string why;
  const std::string missing = tools::Fixture("no-such-file.so");
  Read(missing, &ok, &why);
  CHECK(!ok);
  CHECK_EQ(why, "cannot read " + missing + ": No such file or directory");

  const std::string empty = tools::WriteFile("empty.so", "");
  Read(empty, &ok, &why);
  CHECK(!ok);
  CHECK_EQ(why, "cannot read " + empty);

  const std::string text = tools::WriteFile("text.so", std::string(200, 'x'));
  Read(text, &ok, &why);
  CHECK(!ok);
  CHECK_EQ(why, text + " is not a 64-bit little-endian x86-64 ELF file");

  // The ELF header alone: its section header table lies past the end of the file.
  const std::string library = tools::ReadFile(tools::Fixture("fixture.so"));
  const std::string header_only = tools::WriteFile("header-only.so", library.substr(0, 64));
  Read(header_only, &ok, &why);
  CHECK(!ok);
  CHECK_EQ(why, header_only + " has no section headers");
  std::string id;
  CHECK(!ElfBuildId(header_only, &id));

  // Another machine's ELF: e_machine patched to AArch64 (183).
  std::string other = library;
  other[18] = static_cast<char>(183);
  other[19] = 0;
  const std::string aarch64 = tools::WriteFile("aarch64.so", other);
  Read(aarch64, &ok, &why);
  CHECK(!ok);
  CHECK_EQ(why, aarch64 + " is not a 64-bit little-endian x86-64 ELF file");
}
