// What the ELF tests compare with: the output of binutils (readelf, nm), tools this project
// did not write, and small files the tests write themselves.
#pragma once
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "check.h"

namespace tools {

// A command's standard output; fails the test when it exits non-zero.
inline std::string Output(const std::string& command) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    check::Fail(__FILE__, __LINE__, "cannot run " + command);
    return out;
  }
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  if (pclose(pipe) != 0) check::Fail(__FILE__, __LINE__, command + " failed");
  return out;
}

inline std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

inline std::vector<std::string> Words(const std::string& line) {
  std::vector<std::string> words;
  std::istringstream in(line);
  for (std::string word; in >> word;) words.push_back(word);
  return words;
}

inline std::string Fixture(const std::string& name) { return check::FixtureDir() + "/" + name; }

// Writes `bytes` to a new file in the fixture directory; returns its path.
inline std::string WriteFile(const std::string& name, const std::string& bytes) {
  const std::string path = Fixture(name);
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace tools
