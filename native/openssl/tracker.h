// Control of OpenSSL allocation tracking: support check, start, stop and stats. Every
// function here is serialised by one mutex and may be called from any thread (the main
// thread or worker threads, each with its own copy of the addon's exports).
#pragma once
#include <cstdint>
#include <string>

namespace sockprobe {

struct TrackerStats {
  bool tracking = false;
  bool started = false;  // a session exists (running or stopped)
  int64_t live_bytes = 0;
  int64_t peak_bytes = 0;
  uint64_t allocations = 0;
  uint64_t frees = 0;
  uint64_t reallocs = 0;
  double since_ms = 0;   // wall clock (ms since the epoch) when the session started
  uint64_t session = 0;  // the session these figures are of (running or last); 0 before the first
  uint64_t users = 0;    // references held to the running session, over every realm
};

// Empty when tracking can work in this process, else the reason it cannot. The first call
// scans the OpenSSL object's symbol table (a few milliseconds); later calls are cached.
std::string TrackingProblem();

// Takes one reference to the process-wide session, starting a new one (fresh counters) when
// none runs; `session` receives its id. On failure returns false with an error `code` and
// `why`; nothing changed.
bool AcquireTracking(uint64_t* session, const char** code, std::string* why);
// Gives back one reference to `session`; the last one ends it (the hooks are swapped back
// with CAS, the figures freeze). A session that already ended, or another id, is left alone.
void ReleaseTracking(uint64_t session);
TrackerStats ReadTrackerStats();

}  // namespace sockprobe
