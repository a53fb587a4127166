#include "net/port_filter.h"

#include <linux/inet_diag.h>
#include <sys/socket.h>

#include <cstring>

namespace sockprobe {

namespace {

// Layout, as iproute2's ss compiles "sport = :a or sport = :b …":
//   [S_COND a][JMP][S_COND b][JMP] … [S_COND z]
// A condition that holds steps to its JMP, which jumps to the end (accept); one that fails
// steps over its JMP to the next condition; the last one failing jumps 4 bytes past the end
// (reject). Every `yes` goes to the next op, which is what the kernel's bytecode audit needs.
struct Condition {
  inet_diag_bc_op op;
  inet_diag_hostcond host;  // AF_UNSPEC, prefix 0: the port alone decides
};
static_assert(sizeof(Condition) == 12, "S_COND op with an address-less hostcond");
constexpr size_t kJump = sizeof(inet_diag_bc_op);
constexpr size_t kMaxPorts = 2048;  // JMP offsets are u16

}  // namespace

std::vector<uint8_t> LocalPortFilter(const std::vector<uint16_t>& ports) {
  std::vector<uint8_t> program;
  if (ports.empty() || ports.size() > kMaxPorts) return program;
  const size_t length = ports.size() * sizeof(Condition) + (ports.size() - 1) * kJump;
  program.resize(length);
  size_t at = 0;
  for (size_t i = 0; i < ports.size(); i++) {
    const bool last = i + 1 == ports.size();
    Condition condition{};
    condition.op.code = INET_DIAG_BC_S_COND;
    condition.op.yes = sizeof(Condition);
    condition.op.no = static_cast<uint16_t>(sizeof(Condition) + kJump);
    condition.host.family = AF_UNSPEC;
    condition.host.prefix_len = 0;
    condition.host.port = ports[i];
    std::memcpy(program.data() + at, &condition, sizeof(condition));
    at += sizeof(condition);
    if (last) break;
    inet_diag_bc_op jump{};
    jump.code = INET_DIAG_BC_JMP;
    jump.yes = kJump;
    jump.no = static_cast<uint16_t>(length - at);  // lands exactly on the end: accept
    std::memcpy(program.data() + at, &jump, sizeof(jump));
    at += kJump;
  }
  return program;
}

}  // namespace sockprobe
