// Poisson sampling by bytes (native/heap/sampler.*), with fixed seeds: the intervals are
// exponential of mean sampleBytes, each block of `size` bytes is sampled with probability
// 1 − exp(−size/sampleBytes), and SampleWeight's scaling makes the estimate unbiased. Bounds
// are five standard deviations of the estimate, from the number of draws.
#include "heap/sampler.h"

#include <cmath>
#include <cstdint>
#include <vector>

#include "check.h"
#include "heap/live_table.h"
#include "heap/session_state.h"

using namespace sockprobe::heap;

namespace {

constexpr uint64_t kMean = 64 * 1024;

// A thread's state as the hooks leave it after the first crossing at `mean`: seeded, counting.
ThreadState Seeded(uint64_t seed, uint64_t mean) {
  g_mean_bytes.store(mean);
  g_sampling.store(true);
  ThreadState s{};
  s.rng = seed;
  CHECK(!Crossed(s));  // the first crossing at a new mean only draws
  CHECK_EQ(s.mean_seen, mean);
  return s;
}

// Allocates `count` blocks of `size` bytes; returns how many were sampled.
uint64_t SampledOf(ThreadState& s, size_t size, uint64_t count) {
  uint64_t sampled = 0;
  for (uint64_t i = 0; i < count; ++i) sampled += CountBytes(s, size) ? 1 : 0;
  return sampled;
}

// Estimates the bytes allocated in `size`-byte blocks from the samples and checks it against
// the truth, within five standard deviations of the binomial count behind it.
void CheckUnbiased(uint64_t seed, size_t size, double mean) {
  const double p = -std::expm1(-static_cast<double>(size) / mean);
  const uint64_t count = static_cast<uint64_t>(std::ceil(20000 / p));
  ThreadState s = Seeded(seed, static_cast<uint64_t>(mean));
  const uint64_t sampled = SampledOf(s, size, count);
  const double truth = static_cast<double>(count) * static_cast<double>(size);
  const double estimate = static_cast<double>(sampled) * static_cast<double>(size) * SampleWeight(size, mean);
  const double relative_sd = std::sqrt((1 - p) / (static_cast<double>(count) * p));
  CHECK_NEAR(estimate / truth, 1.0, 5 * relative_sd);
  CHECK_NEAR(static_cast<double>(sampled) / static_cast<double>(count), p,
             5 * std::sqrt(p * (1 - p) / static_cast<double>(count)));
}

}  // namespace

TEST(sampler_intervals_are_exponential_of_mean_sample_bytes) {
  ThreadState s = Seeded(0x9e3779b97f4a7c15ull, kMean);
  constexpr int kDraws = 200000;
  double sum = 0;
  int above_mean = 0, above_3_means = 0;
  int64_t smallest = INT64_MAX;
  for (int i = 0; i < kDraws; ++i) {
    CHECK(Crossed(s));
    sum += static_cast<double>(s.countdown);
    above_mean += s.countdown > static_cast<int64_t>(kMean) ? 1 : 0;
    above_3_means += s.countdown > static_cast<int64_t>(3 * kMean) ? 1 : 0;
    if (s.countdown < smallest) smallest = s.countdown;
  }
  // An exponential's standard deviation is its mean.
  CHECK_NEAR(sum / kDraws, static_cast<double>(kMean), 5 * static_cast<double>(kMean) / std::sqrt(kDraws));
  for (const auto& [seen, k] : {std::pair<int, double>{above_mean, 1.0}, {above_3_means, 3.0}}) {
    const double p = std::exp(-k);
    CHECK_NEAR(static_cast<double>(seen) / kDraws, p, 5 * std::sqrt(p * (1 - p) / kDraws));
  }
  CHECK(smallest >= 1);
}

TEST(sampler_same_seed_same_intervals) {
  ThreadState a = Seeded(12345, kMean), b = Seeded(12345, kMean), c = Seeded(54321, kMean);
  bool all_same = true, any_differs_from_c = false;
  for (int i = 0; i < 100; ++i) {
    Crossed(a);
    Crossed(b);
    Crossed(c);
    all_same = all_same && a.countdown == b.countdown;
    any_differs_from_c = any_differs_from_c || a.countdown != c.countdown;
  }
  CHECK(all_same);
  CHECK(any_differs_from_c);
}

TEST(sampler_estimate_is_unbiased_for_small_blocks) { CheckUnbiased(1, kMean / 64, kMean); }
TEST(sampler_estimate_is_unbiased_for_blocks_near_the_mean) { CheckUnbiased(2, kMean, kMean); }
TEST(sampler_estimate_is_unbiased_for_large_blocks) { CheckUnbiased(3, 4 * kMean, kMean); }

// Two sizes interleaved in one thread: the memoryless countdown gives each its own probability.
TEST(sampler_estimate_is_unbiased_per_size_when_interleaved) {
  ThreadState s = Seeded(4, kMean);
  const size_t small = kMean / 16, large = 2 * kMean;
  const uint64_t rounds = 200000;
  uint64_t small_sampled = 0, large_sampled = 0;
  for (uint64_t i = 0; i < rounds; ++i) {
    for (int k = 0; k < 7; ++k) small_sampled += CountBytes(s, small) ? 1 : 0;
    large_sampled += CountBytes(s, large) ? 1 : 0;
  }
  const auto check_class = [&](size_t size, uint64_t sampled, uint64_t count) {
    const double p = -std::expm1(-static_cast<double>(size) / kMean);
    const double estimate = static_cast<double>(sampled) * SampleWeight(size, kMean);
    CHECK_NEAR(estimate / static_cast<double>(count), 1.0, 5 * std::sqrt((1 - p) / (static_cast<double>(count) * p)));
  };
  check_class(small, small_sampled, 7 * rounds);
  check_class(large, large_sampled, rounds);
}

TEST(sampler_weight_formula) {
  CHECK_NEAR(SampleWeight(kMean, kMean), 1 / (1 - std::exp(-1.0)), 1e-12);
  CHECK_NEAR(SampleWeight(1, 1e9), 1e9, 1.0);  // tiny blocks: one sample stands for mean/size blocks
  CHECK_NEAR(SampleWeight(1e12, kMean), 1.0, 1e-12);
  CHECK_EQ(SampleWeight(0, kMean), 1.0);
}

// A size beyond any real block still counts as a crossing: capped, never wrapped negative.
TEST(sampler_huge_size_is_capped_not_wrapped) {
  ThreadState s = Seeded(5, kMean);
  CHECK(CountBytes(s, SIZE_MAX));
  CHECK(s.countdown >= 1);
  CHECK(CountBytes(s, size_t{1} << 63));
}

TEST(sampler_interval_bounds) {
  ThreadState tiny = Seeded(6, 1);
  for (int i = 0; i < 10000; ++i) {
    Crossed(tiny);
    CHECK(tiny.countdown >= 1);
  }
  ThreadState huge = Seeded(7, uint64_t{1} << 62);
  bool clamped = false;
  for (int i = 0; i < 1000; ++i) {
    Crossed(huge);
    CHECK(huge.countdown >= 1 && huge.countdown <= static_cast<int64_t>(1e15));
    clamped = clamped || huge.countdown == static_cast<int64_t>(1e15);
  }
  CHECK(clamped);
}

TEST(sampler_idle_never_samples) {
  ThreadState s = Seeded(8, kMean);
  g_sampling.store(false);
  CHECK_EQ(SampledOf(s, kMean, 10000), 0u);
  CHECK(s.countdown >= 1);
  g_sampling.store(true);
  g_mean_bytes.store(2 * kMean);
  CHECK(!Crossed(s));  // a changed mean draws afresh first
  CHECK_EQ(s.mean_seen, 2 * kMean);
  CHECK(Crossed(s));
}

TEST(sampler_nested_guard) {
  ThreadState s{};
  CHECK(!Nested(s, 1000));
  s.guard_fp = 2000;
  CHECK(Nested(s, 1000));  // below the guard's frame: inside our own hook
  CHECK_EQ(s.guard_fp, 2000u);
  CHECK(!Nested(s, 3000));  // above it: that frame is gone, the guard is cleared
  CHECK_EQ(s.guard_fp, 0u);
}

namespace {
__attribute__((noinline)) uintptr_t RecordFromHook(ThreadState& s, void* block, size_t size) {
  RecordSample(s, block, size, reinterpret_cast<uintptr_t>(__builtin_frame_address(0)));
  return reinterpret_cast<uintptr_t>(__builtin_return_address(0));
}
}  // namespace

// The recorded stack starts where the hook returns (the compiler's own answer) and walks on.
TEST(sampler_records_the_callers_stack) {
  CHECK(MapTables());
  g_generation.store(9);
  ThreadState s{};
  s.guard_fp = 77;
  int block = 0;
  const uintptr_t returns_to = RecordFromHook(s, &block, 123);
  CHECK_EQ(s.guard_fp, 77u);
  CHECK(s.stack_lo < s.stack_hi && s.stack_hi > 1);
  const std::vector<LiveSample> live = SnapshotLive(9);
  CHECK_EQ(live.size(), 1u);
  if (live.size() != 1) return;
  CHECK_EQ(live[0].size, 123u);
  const std::vector<uintptr_t> frames = StackFrames(live[0].stack);
  CHECK(frames.size() >= 2 && frames.size() <= kMaxDepth);
  CHECK_EQ(frames.empty() ? 0 : frames[0], returns_to);
  CHECK(MaybeSampled(reinterpret_cast<uintptr_t>(&block)));
}
