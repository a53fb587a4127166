// inet_diag bytecode that keeps sockets whose local port is one of a set, so a dump of
// TIME_WAIT and SYN_RECV sockets returns ours (those on our listening ports) instead of every
// one on the host (a busy host holds tens of thousands).
#pragma once
#include <cstdint>
#include <vector>

namespace sockprobe {

// Empty when there are too many ports for one program (the caller then dumps unfiltered).
std::vector<uint8_t> LocalPortFilter(const std::vector<uint16_t>& ports);

}  // namespace sockprobe
