// inet_diag bytecode that keeps sockets whose local port is one of a set, so a dump returns
// the sockets on this process's ports (listeners' and its own outgoing ones) instead of every
// TCP socket of the network namespace.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace sockprobe {

// The kernel takes the program in one netlink attribute (u16 length) with u16 jump offsets.
constexpr size_t kMaxFilterBytes = 65000;

// Empty when `ports` is empty or the program would exceed kMaxFilterBytes (the caller then
// dumps unfiltered). Duplicates are allowed.
std::vector<uint8_t> LocalPortFilter(std::vector<uint16_t> ports);

}  // namespace sockprobe
