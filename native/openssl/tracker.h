// Control of OpenSSL allocation tracking: support check, start, stop and stats. Every
// function here is serialised by one mutex and may be called from any thread (the main
// thread or worker threads, each with its own copy of the addon's exports).
#pragma once
#include <cstdint>
#include <string>

namespace sockprobe {

struct TrackerStats {
  bool tracking = false;
  bool started = false;       // a session exists (running or stopped)
  int64_t live_bytes = 0;
  int64_t peak_bytes = 0;
  uint64_t allocations = 0;
  uint64_t frees = 0;
  uint64_t reallocs = 0;
  double since_ms = 0;        // wall clock (ms since the epoch) when the session started
};

// Empty when tracking can work in this process, else the reason it cannot. The first call
// scans the OpenSSL object's symbol table (a few milliseconds); later calls are cached.
std::string TrackingProblem();

// Idempotent. On failure returns false with an error `code` and `why`; nothing changed.
bool StartTracking(const char** code, std::string* why);
// Idempotent; always succeeds once started (the hooks are swapped back with CAS).
void StopTracking();
TrackerStats ReadTrackerStats();

}  // namespace sockprobe
