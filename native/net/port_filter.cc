#include "net/port_filter.h"

#include <linux/inet_diag.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstddef>
#include <cstring>

namespace sockprobe {

namespace {

// A binary search over the sorted ports, so the kernel runs ~log2(n) + 4 ops per socket, not
// n for every socket the walk visits (a linear "sport = a or sport = b …" runs all n ops on
// every socket that is not ours).
//   node:  [S_GE p][port]  yes: the next op (ports >= p, laid out right after), no: the lower half
//   leaf:  [S_COND a][JMP] [S_COND b][JMP] …  a match steps to its JMP, which jumps to the end
//          (accept); the last miss jumps 4 bytes past the end (reject).
// Every `yes` steps to the next op: the kernel's audit (inet_diag_bc_audit) walks the `yes`
// chain and requires each `no` to land on that chain, on the end, or 4 bytes past it.
struct Condition {
  inet_diag_bc_op op;
  inet_diag_hostcond host;  // AF_UNSPEC, prefix 0: the port alone decides
};
static_assert(sizeof(Condition) == 12, "S_COND op with an address-less hostcond");
constexpr size_t kOp = sizeof(inet_diag_bc_op);
constexpr size_t kLeafPorts = 4;

class Builder {
 public:
  explicit Builder(const std::vector<uint16_t>& ports) : ports_(ports) {}

  std::vector<uint8_t> Build() {
    Emit(0, ports_.size());
    if (program_.size() > kMaxFilterBytes) return {};
    const size_t end = program_.size();
    for (size_t at : accepts_) SetNo(at, end - at);
    for (size_t at : rejects_) SetNo(at, end - at + 4);
    return program_;
  }

 private:
  void Emit(size_t lo, size_t hi) {
    if (program_.size() > kMaxFilterBytes) return;
    if (hi - lo <= kLeafPorts) {
      for (size_t i = lo; i < hi; i++) {
        const size_t at = program_.size();
        Condition condition{};
        condition.op.code = INET_DIAG_BC_S_COND;
        condition.op.yes = sizeof(Condition);
        condition.op.no = static_cast<uint16_t>(sizeof(Condition) + kOp);
        condition.host.family = AF_UNSPEC;
        condition.host.port = ports_[i];
        Append(&condition, sizeof(condition));
        if (i + 1 == hi) rejects_.push_back(at);
        inet_diag_bc_op jump{INET_DIAG_BC_JMP, kOp, 0};
        accepts_.push_back(program_.size());
        Append(&jump, sizeof(jump));
      }
      return;
    }
    const size_t mid = lo + (hi - lo) / 2;
    const size_t node = program_.size();
    inet_diag_bc_op compare[2] = {{INET_DIAG_BC_S_GE, 2 * kOp, 0}, {0, 0, ports_[mid]}};
    Append(compare, sizeof(compare));
    Emit(mid, hi);
    SetNo(node, program_.size() - node);
    Emit(lo, mid);
  }

  void Append(const void* bytes, size_t length) {
    const uint8_t* from = static_cast<const uint8_t*>(bytes);
    program_.insert(program_.end(), from, from + length);
  }

  // Offsets past u16 only happen in programs over kMaxFilterBytes, which Build() discards.
  void SetNo(size_t at, size_t offset) {
    const uint16_t no = static_cast<uint16_t>(offset);
    std::memcpy(program_.data() + at + offsetof(inet_diag_bc_op, no), &no, sizeof(no));
  }

  const std::vector<uint16_t>& ports_;
  std::vector<uint8_t> program_;
  std::vector<size_t> accepts_;
  std::vector<size_t> rejects_;
};

}  // namespace

std::vector<uint8_t> LocalPortFilter(std::vector<uint16_t> ports) {
  std::sort(ports.begin(), ports.end());
  ports.erase(std::unique(ports.begin(), ports.end()), ports.end());
  if (ports.empty()) return {};
  return Builder(ports).Build();
}

}  // namespace sockprobe
