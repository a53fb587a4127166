#include "net/rows_pool.h"

#include <mutex>
#include <utility>

namespace sockprobe {

namespace {

std::mutex g_spare_lock;
// A plain vector, no static destructor: a finalizer may return a buffer during process exit.
std::vector<uint8_t>* g_spare = nullptr;

}  // namespace

std::vector<uint8_t> TakeSpareRows() {
  std::vector<uint8_t> rows;
  {
    std::lock_guard<std::mutex> hold(g_spare_lock);
    if (g_spare != nullptr) rows.swap(*g_spare);
  }
  rows.clear();
  return rows;
}

void ReturnSpareRows(std::vector<uint8_t>&& rows) {
  std::vector<uint8_t> dropped;  // declared first: freed after the lock is released
  if (rows.capacity() > kMaxSpareRowsBytes) {
    dropped.swap(rows);
    return;
  }
  std::lock_guard<std::mutex> hold(g_spare_lock);
  if (g_spare == nullptr) g_spare = new std::vector<uint8_t>();
  if (g_spare->capacity() >= rows.capacity()) {
    dropped.swap(rows);
  } else {
    dropped.swap(*g_spare);  // the smaller one goes
    g_spare->swap(rows);
  }
}

}  // namespace sockprobe
