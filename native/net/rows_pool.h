// One spare rows buffer between snapshots. A snapshot's rows go to JS as an external
// ArrayBuffer and are freed when it is collected; a fresh buffer for the next snapshot costs a
// page fault and a zeroed page per 4 KiB (10,000 rows: 4.4 MB, 1,075 faults, ~2 ms on the
// threadpool). The collected buffer is kept for the next snapshot instead, one at most and only
// up to kMaxSpareRowsBytes, so what is held stays bounded by one snapshot's rows.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace sockprobe {

constexpr size_t kMaxSpareRowsBytes = 16u << 20;

// The spare buffer, emptied (capacity kept), or an empty vector when there is none. Any thread.
std::vector<uint8_t> TakeSpareRows();

// Keeps `rows` as the spare when none is held and it fits the cap; frees it otherwise. Any thread.
void ReturnSpareRows(std::vector<uint8_t>&& rows);

}  // namespace sockprobe
