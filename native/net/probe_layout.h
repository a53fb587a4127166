// Byte layouts shared with TypeScript (src/net/layout.ts mirrors every constant here):
// the per-call probe buffer of tcpProbe() and the fixed-size rows of a snapshot. Packed rows
// let JS build objects only for the rows it reads (about 5 µs per socket saved on 10k rows).
#pragma once
#include <cstddef>
#include <cstdint>

#include "net/tcp_info_layout.h"

namespace sockprobe {

// SO_MEMINFO returns SK_MEMINFO_VARS u32 values (9 since Linux 4.12); room for more.
constexpr size_t kSkmemSlots = 12;

// tcpProbe(fd, buffer): tcp_info, then the queues, then skmem.
namespace probe {
constexpr size_t kTcpInfo = 0;
constexpr size_t kInq = kTcpInfoCapacity;                 // i32, -1 when not measured (listener)
constexpr size_t kOutq = kInq + 4;                        // i32, -1 when not measured (listener)
constexpr size_t kSkmem = kOutq + 4;                      // u32 x kSkmemSlots
constexpr size_t kSkmemCount = kSkmem + 4 * kSkmemSlots;  // u32: values the kernel returned
constexpr size_t kBytes = kSkmemCount + 8;
}  // namespace probe

// One snapshot row per socket; the listeners come first.
namespace row {
constexpr size_t kFamily = 0;          // u8: AF_INET or AF_INET6
constexpr size_t kState = 1;           // u8: TCP_ESTABLISHED ... TCP_NEW_SYN_RECV
constexpr size_t kTimer = 2;           // u8: idiag_timer
constexpr size_t kRetrans = 3;         // u8: idiag_retrans
constexpr size_t kLocalPort = 4;       // u16, host order
constexpr size_t kRemotePort = 6;      // u16, host order
constexpr size_t kInode = 8;           // u32, 0 for TIME_WAIT, SYN_RECV and orphans
constexpr size_t kFd = 12;             // i32, -1 when the socket has no fd in this process
constexpr size_t kUid = 16;            // u32
constexpr size_t kRqueue = 20;         // u32: idiag_rqueue (accept queue on listeners)
constexpr size_t kWqueue = 24;         // u32: idiag_wqueue (backlog on listeners)
constexpr size_t kTcpInfoLength = 28;  // u32: 0 when the dump carried no INET_DIAG_INFO
constexpr size_t kSkmemCount = 32;     // u8: 0 when the dump carried no INET_DIAG_SKMEMINFO
constexpr size_t kSide = 33;           // u8: kSideListener, kSideServer or kSideClient
constexpr size_t kExpiresMs = 36;      // u32: idiag_expires
constexpr size_t kLocalAddress = 40;   // 16 bytes: IPv4 in the first 4
constexpr size_t kRemoteAddress = 56;  // 16 bytes
constexpr size_t kSkmem = 72;          // u32 x kSkmemSlots
constexpr size_t kTcpInfo = kSkmem + 4 * kSkmemSlots;
constexpr size_t kBytes = kTcpInfo + kTcpInfoCapacity;
}  // namespace row

// Which end of a connection a row is, decided on the threadpool against our listeners.
constexpr uint8_t kSideListener = 0;
constexpr uint8_t kSideServer = 1;  // on one of our listening addresses and ports
constexpr uint8_t kSideClient = 2;  // any other: connections this process opened

static_assert(probe::kBytes == 384, "probe layout");
static_assert(row::kTcpInfo == 120 && row::kBytes == 440, "row layout");

}  // namespace sockprobe
