// The live-block table and the stack store (native/heap/live_table.*): inserts, removals,
// the probe bound, sessions' generations, and the counting filter kept equal to what is live.
#include "heap/live_table.h"

#include <cstdint>
#include <vector>

#include "check.h"

using namespace sockprobe::heap;

namespace {

// Distinct, 16-byte aligned, above the first page: what malloc hands out.
uintptr_t Address(size_t i) { return 0x10000000 + i * 16; }

// The filter's counters summed: one per live entry, whatever its generation.
uint64_t FilterTotal() {
  uint64_t total = 0;
  for (size_t i = 0; i < (size_t{1} << kFilterBits); ++i) total += g_filter[i];
  return total;
}

}  // namespace

TEST(live_table_before_mapping_answers_nothing) {
  CHECK(!MaybeSampled(Address(1)));
  const uintptr_t frames[] = {0x401000};
  CHECK_EQ(InternStack(frames, 1), 0u);
  CHECK(StackFrames(1).empty());
  CHECK(SnapshotLive(1).empty());
}

TEST(live_table_insert_then_remove) {
  CHECK(MapTables());
  CHECK(MapTables());  // idempotent
  CHECK(!MaybeSampled(Address(1)));
  CHECK(InsertLive(Address(1), 100, 7, 1));
  CHECK(InsertLive(Address(2), 200, 8, 1));
  CHECK(MaybeSampled(Address(1)));
  std::vector<LiveSample> live = SnapshotLive(1);
  CHECK_EQ(live.size(), 2u);
  uint64_t bytes = 0;
  for (const LiveSample& sample : live) bytes += sample.size;
  CHECK_EQ(bytes, 300u);
  CHECK_EQ(FilterTotal(), 2u);
  CHECK(RemoveLive(Address(1)));
  CHECK(!RemoveLive(Address(1)));  // once only
  CHECK(!RemoveLive(Address(3)));  // never inserted
  live = SnapshotLive(1);
  CHECK_EQ(live.size(), 1u);
  CHECK_EQ(live.empty() ? 0 : live[0].size, 200u);
  CHECK_EQ(live.empty() ? 0 : live[0].stack, 8u);
  CHECK_EQ(FilterTotal(), 1u);
  CHECK_EQ(DroppedSamples(), 0u);
}

// A block freed where no hook saw it and handed out again is live once, with its new size.
TEST(live_table_same_address_twice_is_live_once) {
  CHECK(MapTables());
  CHECK(InsertLive(Address(5), 64, 1, 1));
  CHECK(InsertLive(Address(5), 4096, 2, 1));
  const std::vector<LiveSample> live = SnapshotLive(1);
  CHECK_EQ(live.size(), 1u);
  CHECK_EQ(live.empty() ? 0 : live[0].size, 4096u);
  CHECK_EQ(FilterTotal(), 1u);
}

// Past its capacity within the probe bound the table drops and counts; what it kept is intact,
// removable once each, and a table of tombstones takes inserts again.
TEST(live_table_full_drops_and_counts) {
  CHECK(MapTables());
  const size_t attempts = 2 * kLiveCapacity;
  std::vector<bool> kept(attempts);
  size_t inserted = 0;
  for (size_t i = 0; i < attempts; ++i) {
    kept[i] = InsertLive(Address(i), i + 1, 1, 3);
    if (kept[i]) ++inserted;
  }
  CHECK(inserted <= kLiveCapacity);
  CHECK(inserted < attempts);
  CHECK_EQ(DroppedSamples(), attempts - inserted);
  CHECK_EQ(SnapshotLive(3).size(), inserted);
  CHECK_EQ(FilterTotal(), inserted);
  size_t removed = 0, removed_dropped = 0;
  for (size_t i = 0; i < attempts; ++i) {
    const bool was = RemoveLive(Address(i));
    if (was && kept[i]) ++removed;
    if (was && !kept[i]) ++removed_dropped;
    CHECK(!RemoveLive(Address(i)) || !kept[i]);
  }
  CHECK_EQ(removed, inserted);
  CHECK_EQ(removed_dropped, 0u);
  CHECK(SnapshotLive(3).empty());
  CHECK_EQ(FilterTotal(), 0u);
  ResetDropped();
  CHECK_EQ(DroppedSamples(), 0u);
  size_t again = 0;
  for (size_t i = 0; i < kLiveCapacity / 2; ++i) again += InsertLive(Address(attempts + i), 1, 1, 3) ? 1 : 0;
  CHECK_EQ(again, kLiveCapacity / 2);
  CHECK_EQ(DroppedSamples(), 0u);
}

// A new session (generation) sees none of the last one's entries, and takes their places
// in a full table, giving their filter counts back.
TEST(live_table_new_generation_reclaims_stale_entries) {
  CHECK(MapTables());
  size_t old_kept = 0;
  for (size_t i = 0; i < kLiveCapacity; ++i) old_kept += InsertLive(Address(i), 8, 1, 10) ? 1 : 0;
  CHECK(old_kept > 0);
  CHECK(SnapshotLive(11).empty());
  size_t new_kept = 0;
  for (size_t i = 0; i < kLiveCapacity; ++i) new_kept += InsertLive(Address(kLiveCapacity + i), 16, 2, 11) ? 1 : 0;
  const size_t old_left = SnapshotLive(10).size();
  CHECK_EQ(SnapshotLive(11).size(), new_kept);
  CHECK(new_kept > old_kept - old_left);  // stale places were taken
  CHECK(old_left < old_kept);
  CHECK_EQ(FilterTotal(), old_left + new_kept);
}

TEST(stack_store_interns_once_and_reads_back) {
  CHECK(MapTables());
  const uintptr_t a[] = {0x401000, 0x402000, 0x403000};
  const uintptr_t b[] = {0x401000, 0x402000, 0x403001};
  const uint32_t id_a = InternStack(a, 3);
  const uint32_t id_b = InternStack(b, 3);
  CHECK(id_a != 0);
  CHECK(id_b != 0);
  CHECK(id_a != id_b);
  CHECK_EQ(InternStack(a, 3), id_a);
  CHECK(InternStack(a, 2) != id_a);  // a prefix is another stack
  CHECK_EQ(StackFrames(id_a), std::vector<uintptr_t>(a, a + 3));
  CHECK_EQ(StackFrames(id_b), std::vector<uintptr_t>(b, b + 3));
  CHECK_EQ(InternStack(a, 0), 0u);
  CHECK(StackFrames(0).empty());
  CHECK(StackFrames(static_cast<uint32_t>(kStackCapacity + 1)).empty());
}

// The frame store fills before the slots do at full depth: then interning a new stack gives
// 0 (a sample with no stack), and what was stored stays intact and found.
TEST(stack_store_full_gives_zero) {
  CHECK(MapTables());
  constexpr size_t kDepth = 64;
  std::vector<uintptr_t> frames(kDepth);
  std::vector<uint32_t> ids;
  size_t zero = 0;
  for (size_t n = 0; n < 2 * kFrameCapacity / kDepth; ++n) {
    for (size_t i = 0; i < kDepth; ++i) frames[i] = 0x400000 + n * kDepth + i;
    const uint32_t id = InternStack(frames.data(), kDepth);
    if (id == 0)
      ++zero;
    else
      ids.push_back(id);
  }
  CHECK(ids.size() <= kFrameCapacity / kDepth);
  CHECK(zero >= kFrameCapacity / kDepth);
  const std::vector<uintptr_t> first = StackFrames(ids.empty() ? 0 : ids.front());
  CHECK_EQ(first.size(), kDepth);
  CHECK_EQ(first.empty() ? 0 : first[0], 0x400000u);
  for (size_t i = 0; i < kDepth; ++i) frames[i] = 0x400000 + i;
  CHECK_EQ(InternStack(frames.data(), kDepth), ids.empty() ? 1u : ids.front());
  const uintptr_t shallow[] = {0x999000};
  CHECK_EQ(InternStack(shallow, 1), 0u);
}
