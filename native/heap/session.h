// Control of the native heap profiler: support check, start, stop, profile. Serialised by
// one mutex; callable from any thread (each worker has its own copy of the exports, the
// session is process-wide).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "heap/profile_tables.h"

namespace sockprobe {
namespace heap {

// Empty when the profiler can work here, else why not (cached after the first answer).
std::string Problem();

// Takes one reference to the process-wide session, starting it when none runs; `session`
// receives its id. A running session sampling at another rate is refused
// (ERR_SESSION_CONFLICT, naming the running rate), as is a process where profiling cannot
// work (ERR_UNSUPPORTED); nothing changes then.
bool Acquire(uint64_t sample_bytes, uint64_t* session, const char** code, std::string* why);
// Gives back one reference to `session`; the last one ends it (every patched slot restored).
// A session that already ended, or another id, is left alone.
void Release(uint64_t session);

struct RawProfile {
  bool ok = false;
  const char* code = "";
  std::string error;
  uint64_t sample_bytes = 0;
  double started_at = 0;
  double taken_at = 0;
  uint64_t dropped = 0;
  uint64_t patched_slots = 0;
  std::string executable;
  std::string allocator_object;
  ProfileTables tables;  // sites merged by stack, own hook frames removed
};

// Runs on the threadpool: patches objects loaded since start(), reads the live table,
// scales each sample, symbolizes, tabulates.
RawProfile TakeProfile();

struct Status {
  bool active = false;
  uint64_t sample_bytes = 0;
  uint64_t patched_slots = 0;
  uint64_t dropped = 0;
  uint64_t restore_left = 0;  // slots that held something else when stop() came
  uint64_t session = 0;       // the running session's id, 0 when none runs
  uint64_t users = 0;         // references held to it, over every realm
  double started_at = 0;      // wall clock (ms since the epoch) it started; 0 when none runs
};
Status ReadStatus();

}  // namespace heap
}  // namespace sockprobe
