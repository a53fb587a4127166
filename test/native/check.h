// A small test framework for the native unit tests (scripts/native-tests.mjs builds and runs
// them): TEST registers a function, CHECK* record a failure with file, line and the values, and
// go on. main.cc runs each test in its own forked process, so tests never share the addon's
// process-wide tables and a crash fails one test, not the run.
#pragma once
#include <cmath>
#include <cstdio>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

namespace check {

struct Test {
  const char* name;
  void (*run)();
};

inline std::vector<Test>& Registry() {
  static std::vector<Test> tests;
  return tests;
}

inline int& Failures() {
  static int failures = 0;
  return failures;
}

struct Registrar {
  Registrar(const char* name, void (*run)()) { Registry().push_back({name, run}); }
};

inline void Fail(const char* file, int line, const std::string& what) {
  ++Failures();
  std::fprintf(stderr, "    %s:%d: %s\n", file, line, what.c_str());
}

// Values as failure messages print them: containers element by element.
template <typename T>
std::string Show(const T& value);
template <typename T>
std::string Show(const std::vector<T>& values);
template <typename T>
std::string Show(const std::set<T>& values);
template <typename... T>
std::string Show(const std::tuple<T...>& value);
inline std::string Show(const std::string& value) { return '"' + value + '"'; }
inline std::string Show(const char* value) { return value == nullptr ? "nullptr" : Show(std::string(value)); }

template <typename T>
std::string Show(const T& value) {
  std::ostringstream out;
  out.precision(17);
  out << value;
  return out.str();
}
template <typename Container>
std::string ShowAll(const Container& values) {
  std::string out = "{";
  for (const auto& value : values) out += (out.size() > 1 ? ", " : "") + Show(value);
  return out + "}";
}
template <typename T>
std::string Show(const std::vector<T>& values) {
  return ShowAll(values);
}
template <typename T>
std::string Show(const std::set<T>& values) {
  return ShowAll(values);
}
template <typename... T>
std::string Show(const std::tuple<T...>& value) {
  std::string out;
  std::apply([&](const auto&... parts) { ((out += (out.empty() ? "(" : ", ") + Show(parts)), ...); }, value);
  return out + ")";
}

// The directory of the files scripts/native-tests.mjs built for the tests (a shared object, a
// stripped copy, a debug copy).
const std::string& FixtureDir();

}  // namespace check

#define TEST(name)                                              \
  static void name();                                           \
  static const check::Registrar name##_registrar(#name, &name); \
  static void name()

#define CHECK(condition) ((condition) ? (void)0 : check::Fail(__FILE__, __LINE__, "CHECK(" #condition ") failed"))

#define CHECK_EQ(actual, expected)                                                                                    \
  do {                                                                                                                \
    const auto& check_a = (actual);                                                                                   \
    const auto& check_e = (expected);                                                                                 \
    if (!(check_a == check_e))                                                                                        \
      check::Fail(__FILE__, __LINE__,                                                                                 \
                  std::string(#actual " == " #expected ": ") + check::Show(check_a) + " != " + check::Show(check_e)); \
  } while (0)

// |actual − expected| ≤ bound.
#define CHECK_NEAR(actual, expected, bound)                                                      \
  do {                                                                                           \
    const double check_a = (actual), check_e = (expected), check_b = (bound);                    \
    if (!(std::fabs(check_a - check_e) <= check_b))                                              \
      check::Fail(__FILE__, __LINE__,                                                            \
                  std::string(#actual " near " #expected ": ") + check::Show(check_a) + " vs " + \
                      check::Show(check_e) + ", apart by more than " + check::Show(check_b));    \
  } while (0)
