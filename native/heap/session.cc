#include "heap/session.h"

#include <pthread.h>
#include <sys/resource.h>

#include <mutex>
#include <unordered_map>

#include "common/clock.h"
#include "common/pin.h"
#include "heap/got.h"
#include "heap/holder.h"
#include "heap/live_table.h"
#include "heap/maps.h"
#include "heap/objects.h"
#include "heap/sampler.h"
#include "heap/session_state.h"

namespace sockprobe {
namespace heap {

namespace {

std::mutex g_control;
bool g_checked = false;
std::string g_problem;
bool g_active = false;
uint64_t g_sample_bytes = 0;
double g_started_at = 0;
uint64_t g_restore_left = 0;
// The running session's id (ids only increase; 0: none yet) and how many references its
// users hold: it ends when the last one is released, never under another user's feet.
uint64_t g_session = 0;
uint64_t g_last_session = 0;
uint64_t g_refs = 0;

// Our own bookkeeping (vectors, strings, /proc reads) is not the application's heap: while
// a control call runs on this thread, the hooks below it neither count nor sample.
class OwnWork {
 public:
  // `frame`: the calling function's frame; every hook it reaches runs below it.
  explicit OwnWork(void* frame) : saved_(t_heap.guard_fp) { t_heap.guard_fp = reinterpret_cast<uintptr_t>(frame); }
  ~OwnWork() { t_heap.guard_fp = saved_; }
  OwnWork(const OwnWork&) = delete;
  OwnWork& operator=(const OwnWork&) = delete;

 private:
  uintptr_t saved_;
};

// fork() while another thread holds g_control would leave the child's copy locked forever:
// the forking thread takes it first (held only for short, never inside an allocation).
void ForkPrepare() { g_control.lock(); }
void ForkRelease() { g_control.unlock(); }

// Serialised by g_control.
void Check() {
  if (g_checked) return;
  g_checked = true;
  pthread_atfork(ForkPrepare, ForkRelease, ForkRelease);
#if !(defined(__x86_64__) || defined(__aarch64__)) || !defined(__linux__)
  g_problem = "the native heap profiler patches x86-64 and AArch64 Linux GOT slots; this is another architecture";
  return;
#else
  std::string why;
  if (!ResolveReals(&why)) {
    g_problem = why;
    return;
  }
  if (!MapTables()) g_problem = "could not map the live-block table (mmap failed)";
#endif
}

// Who holds the allocator slots, while this copy does not: asked at every check, since
// another copy of sockprobe or another tool may start or stop hooking at any time.
// Serialised by g_control.
std::string SlotsProblem() {
  const PatchCounts counts = PatchLoadedObjects(/*dry_run=*/true);
  if (counts.executable_foreign > 0) {
    return SlotHolder(counts.foreign) + ": " + std::to_string(counts.executable_foreign) +
           " of the executable's GOT slots for allocator symbols hold its functions, not the allocator's own "
           "definitions; "
           "profiling beside it would miss what it routes (stop it there first)";
  }
  if (counts.malloc_slots == 0) {
    if (counts.foreign != 0) {
      return SlotHolder(counts.foreign) +
             ": no loaded object reaches malloc through a GOT slot confirmed by its relocations and dlsym (" +
             std::to_string(counts.elsewhere) + " slots of allocator symbols hold something else)";
    }
    return "no loaded object reaches malloc through a GOT slot confirmed by its relocations and dlsym (" +
           std::to_string(counts.elsewhere) +
           " slots of allocator symbols hold something else: a canonical PLT entry, or hooks of another tool)";
  }
  return "";
}

// Once: the top of the main thread's stack does not move.
void RecordMainStack() {
  static bool recorded = false;
  if (recorded) return;
  recorded = true;
  const Maps maps = Maps::ReadSelf();
  const Mapping* stack = maps.MainStack();
  if (stack == nullptr) return;
  rlimit limit{};
  uintptr_t reach = 8u << 20;
  if (getrlimit(RLIMIT_STACK, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) reach = limit.rlim_cur;
  const uintptr_t span = stack->end - stack->start;
  if (reach < span) reach = span;
  SetMainStack(stack->end > reach ? stack->end - reach : 0, stack->end);
}

}  // namespace

std::string Problem() {
  OwnWork own(__builtin_frame_address(0));
  std::lock_guard<std::mutex> lock(g_control);
  Check();
  if (!g_problem.empty() || g_active) return g_problem;
  return SlotsProblem();
}

bool Acquire(uint64_t sample_bytes, uint64_t* session, const char** code, std::string* why) {
  OwnWork own(__builtin_frame_address(0));
  std::lock_guard<std::mutex> lock(g_control);
  if (g_active) {
    if (sample_bytes != g_sample_bytes) {
      *code = "ERR_SESSION_CONFLICT";
      *why = "a native heap session already runs in this process sampling every " + std::to_string(g_sample_bytes) +
             " bytes (" + std::to_string(g_refs) + " user(s)); asked for " + std::to_string(sample_bytes) +
             ": join it with sampleBytes " + std::to_string(g_sample_bytes) + ", or start after its users stopped";
      return false;
    }
    ++g_refs;
    *session = g_session;
    return true;
  }
  Check();
  const std::string problem = g_problem.empty() ? SlotsProblem() : g_problem;
  if (!problem.empty()) {
    *code = "ERR_UNSUPPORTED";
    *why = "native heap profiling is not available: " + problem;
    return false;
  }
  if (!PinOwnCode()) {
    *code = "ERR_UNSUPPORTED";
    *why =
        "native heap profiling is not available: the dynamic loader refused to keep sockprobe's code loaded for the "
        "life of the process (RTLD_NODELETE), which hooks into it need";
    return false;
  }
  RecordMainStack();
  g_generation.fetch_add(1, std::memory_order_relaxed);
  g_mean_bytes.store(sample_bytes, std::memory_order_relaxed);
  ResetDropped();
  g_sampling.store(true, std::memory_order_release);
  const PatchCounts counts = PatchLoadedObjects(/*dry_run=*/false);
  if (counts.malloc_slots == 0) {
    g_sampling.store(false, std::memory_order_release);
    size_t left = 0;
    RestoreSlots(&left);
    *code = "ERR_UNSUPPORTED";
    // Another copy or tool took the slots between the check above and the writes.
    *why = counts.write_failed == 0 && counts.foreign != 0
               ? "native heap profiling is not available: " + SlotHolder(counts.foreign)
               : "native heap profiling could not rewrite any malloc slot (" + std::to_string(counts.write_failed) +
                     " confirmed slots refused the write)";
    return false;
  }
  g_sample_bytes = sample_bytes;
  g_started_at = EpochMillis();
  g_active = true;
  g_session = ++g_last_session;
  g_refs = 1;
  *session = g_session;
  return true;
}

void Release(uint64_t session) {
  OwnWork own(__builtin_frame_address(0));
  std::lock_guard<std::mutex> lock(g_control);
  if (!g_active || session != g_session || g_refs == 0) return;
  if (--g_refs > 0) return;
  // Sampling stops first; the hooks stay correct for calls already inside them.
  g_sampling.store(false, std::memory_order_release);
  size_t left = 0;
  RestoreSlots(&left);
  g_restore_left += left;
  g_active = false;
}

Status ReadStatus() {
  std::lock_guard<std::mutex> lock(g_control);
  Status status;
  status.active = g_active;
  status.sample_bytes = g_sample_bytes;
  status.patched_slots = PatchedSlotCount();
  status.dropped = DroppedSamples();
  status.restore_left = g_restore_left;
  status.session = g_active ? g_session : 0;
  status.users = g_active ? g_refs : 0;
  status.started_at = g_active ? g_started_at : 0;
  return status;
}

RawProfile TakeProfile() {
  OwnWork own(__builtin_frame_address(0));
  RawProfile profile;
  uint32_t generation = 0;
  {
    std::lock_guard<std::mutex> lock(g_control);
    if (!g_active) {
      profile.code = "ERR_NOT_STARTED";
      profile.error =
          "nativeHeap.profile() needs a running session: call nativeHeap.start() first (after stop() frees are no "
          "longer seen)";
      return profile;
    }
    PatchLoadedObjects(/*dry_run=*/false);  // objects loaded since start()
    generation = g_generation.load(std::memory_order_relaxed);
    profile.sample_bytes = g_sample_bytes;
    profile.started_at = g_started_at;
    profile.patched_slots = PatchedSlotCount();
  }
  const double mean = static_cast<double>(profile.sample_bytes);
  std::unordered_map<uint32_t, RawSite> by_stack;
  for (const LiveSample& sample : SnapshotLive(generation)) {
    RawSite& site = by_stack[sample.stack];
    const double size = static_cast<double>(sample.size);
    const double scale = SampleWeight(size, mean);
    site.bytes += size * scale;
    site.count += scale;
    site.samples += 1;
  }
  profile.taken_at = EpochMillis();
  profile.dropped = DroppedSamples();
  std::vector<uintptr_t> addresses;
  std::unordered_map<uintptr_t, uint32_t> index_of;
  std::vector<RawSite> sites;
  sites.reserve(by_stack.size());
  for (auto& [stack_id, site] : by_stack) {
    std::vector<uintptr_t> frames = StackFrames(stack_id);
    for (uintptr_t address : frames) {
      auto [it, inserted] = index_of.emplace(address, static_cast<uint32_t>(addresses.size()));
      if (inserted) addresses.push_back(address);
      site.stack.push_back(it->second);
    }
    sites.push_back(std::move(site));
  }
  const std::vector<FrameInfo> frames = Symbolize(addresses);
  // sockprobe's own frames (its OpenSSL tracking hooks calling malloc) are not call sites.
  for (RawSite& site : sites) {
    size_t skip = 0;
    while (skip < site.stack.size() && frames[site.stack[skip]].own) ++skip;
    site.stack.erase(site.stack.begin(), site.stack.begin() + static_cast<long>(skip));
  }
  // Here, under OwnWork: the tables are our bookkeeping, not the application's heap.
  profile.tables = Tabulate(frames, std::move(sites));
  profile.executable = ExecutablePath();
  profile.allocator_object = AllocatorObject();
  profile.ok = true;
  return profile;
}

}  // namespace heap
}  // namespace sockprobe
