#include "net/diag_dump.h"

#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <unordered_set>
#include <utility>

#include "net/local_ports.h"
#include "net/port_filter.h"
#include "net/probe_layout.h"

namespace sockprobe {

namespace {

constexpr uint8_t kListen = 10;
constexpr uint8_t kBoundInactive = 13;  // TCP_BOUND_INACTIVE (Linux 6.8): bound, neither listening nor connected
constexpr uint32_t kAllStates = 0xffffffffu;
constexpr uint32_t kNotListening = kAllStates & ~(1u << kListen);
// The states the established hash holds. Asking for BOUND_INACTIVE as well makes the kernel also
// walk its bind hash, which visits every bound socket of the host once more (accepted sockets
// sit in their listener's bucket): at 10,000 sockets ours plus 10,000 others, that walk doubled
// the dump. Bound-only sockets of ours are found from their fds instead (phase 3).
constexpr uint32_t kHashed = kNotListening & ~(1u << kBoundInactive);
// The kernel hands a dump over in skbs of at most 32 KiB (netlink caps max_recvmsg_len), one
// per recv(): a larger buffer would not save a syscall.
constexpr size_t kReceiveBytes = 64 * 1024;
// Fds left unmatched after the listeners' ports (outgoing connections, Unix sockets) get one
// getsockname each; past this many, the dump walks the host unfiltered instead.
constexpr size_t kMaxProbedFds = 4096;

struct Listener {
  uint8_t address[16];  // IPv4 as ::ffff:a.b.c.d so either family compares
  uint16_t port;
  int family;
};

// An IPv4 address as its IPv4-mapped IPv6 form; IPv6 addresses as they are.
void CanonicalAddress(int family, const uint32_t* raw, uint8_t out[16]) {
  if (family == AF_INET) {
    std::memset(out, 0, 10);
    out[10] = out[11] = 0xff;
    std::memcpy(out + 12, raw, 4);
  } else {
    std::memcpy(out, raw, 16);
  }
}

bool IsWildcard(const uint8_t address[16]) {
  static const uint8_t v6_any[16] = {};
  static const uint8_t v4_any[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0};
  return std::memcmp(address, v6_any, 16) == 0 || std::memcmp(address, v4_any, 16) == 0;
}

template <typename T>
void Put(std::vector<uint8_t>& rows, size_t base, size_t offset, T value) {
  std::memcpy(rows.data() + base + offset, &value, sizeof(T));
}

class Dumper {
 public:
  Dumper(const FdScan& fds, DiagResult* result) : fds_(fds), result_(result), buffer_(kReceiveBytes) {
    seen_.reserve(fds.socket_fds.size());
  }

  // 1. Listeners (the kernel walks only its listening hash). 2. The established hash's states on
  // our listening ports: accepted sockets, and the inode-less TIME_WAIT, SYN_RECV and orphans
  // that are attributed through their listener. 3. Every other state on the local ports of our
  // socket fds still unmatched (outgoing connections' ephemeral ports, bound-only sockets). Other processes'
  // sockets (a local load client's, a sidecar's) never reach us nor get tcp_info filled.
  bool Run() {
    sock_ = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (sock_ < 0) return Fail("socket", errno);
    const bool ok = RunPhases();
    close(sock_);
    return ok;
  }

 private:
  bool RunPhases() {
    if (!DumpBoth(1u << kListen, {})) return false;
    std::vector<uint16_t> listening;
    bool inet = false;
    bool inet6 = false;
    for (const Listener& listener : listeners_) {
      listening.push_back(listener.port);
      (listener.family == AF_INET ? inet : inet6) = true;
    }
    if (!listening.empty()) {
      const std::vector<uint8_t> filter = LocalPortFilter(listening);
      if (filter.empty()) return Unfiltered();
      // A listener's accepted and TIME_WAIT sockets share its family (a dual-stack :: listener
      // accepts IPv4 peers as AF_INET6 sockets): each walk of the kernel's established hash
      // costs ~1 ms at 256k buckets however few sockets it holds, so skip the family not used.
      if (!DumpFamilies(inet, inet6, kHashed, filter)) return false;
      for (uint16_t port : listening) taken_ports_[port] = true;
      result_->filter_ports += CountDistinct(listening);
    }
    std::vector<int> unmatched;
    for (const auto& entry : fds_.socket_fds) {
      if (seen_.count(entry.first) == 0) unmatched.push_back(entry.second);
    }
    if (unmatched.empty()) return true;
    // Another process's fd numbers mean nothing to getsockname() here.
    if (!fds_.own || unmatched.size() > kMaxProbedFds) return Unfiltered();
    LocalPorts local = LocalPortsOf(unmatched);
    if (local.err != 0) return Fail(local.syscall, local.err);
    // Ports no dump covered yet: every state but LISTEN. Listening ports: phase 2 skipped the
    // bind hash, so only bound-inactive sockets can be missing there.
    std::vector<uint16_t> fresh;
    std::vector<uint16_t> listening_ports;
    for (uint16_t port : local.ports) (taken_ports_[port] ? listening_ports : fresh).push_back(port);
    skip_taken_ports_ = true;
    if (!fresh.empty()) {
      const std::vector<uint8_t> filter = LocalPortFilter(fresh);
      if (filter.empty()) return Unfiltered();
      result_->filter_ports += CountDistinct(fresh);
      if (!DumpFamilies(local.inet, local.inet6, kNotListening, filter)) return false;
    }
    if (listening_ports.empty()) return true;
    const std::vector<uint8_t> filter = LocalPortFilter(listening_ports);
    if (filter.empty()) return Unfiltered();
    return DumpFamilies(local.inet, local.inet6, 1u << kBoundInactive, filter);
  }

  // Every non-listening socket of the host (the bind hash's bound-only ones too); Take() skips
  // what an earlier dump took and the inode-less sockets on the ports it covered.
  bool Unfiltered() {
    result_->unfiltered = true;
    skip_taken_ports_ = true;
    return DumpBoth(kNotListening, {});
  }

  static uint32_t CountDistinct(std::vector<uint16_t> ports) {
    std::sort(ports.begin(), ports.end());
    return static_cast<uint32_t>(std::unique(ports.begin(), ports.end()) - ports.begin());
  }

  bool Fail(const char* syscall, int err) {
    result_->err = err;
    result_->syscall = syscall;
    return false;
  }

  bool DumpBoth(uint32_t states, const std::vector<uint8_t>& filter) {
    return DumpFamilies(true, true, states, filter);
  }

  bool DumpFamilies(bool inet, bool inet6, uint32_t states, const std::vector<uint8_t>& filter) {
    return (!inet || Dump(AF_INET, states, filter)) && (!inet6 || Dump(AF_INET6, states, filter));
  }

  bool Dump(int family, uint32_t states, const std::vector<uint8_t>& filter) {
    result_->dumps++;
    bool ok = Request(family, states, filter) && Receive(family);
    // A kernel without IPv6 (or its diag module) has no IPv6 sockets to report.
    if (!ok && family == AF_INET6 && (result_->err == ENOENT || result_->err == EAFNOSUPPORT)) {
      result_->err = 0;
      result_->syscall = nullptr;
      ok = true;
    }
    return ok;
  }

  // The dump request, with an INET_DIAG_REQ_BYTECODE attribute when `filter` is not empty.
  bool Request(int family, uint32_t states, const std::vector<uint8_t>& filter) {
    inet_diag_req_v2 body{};
    body.sdiag_family = static_cast<uint8_t>(family);
    body.sdiag_protocol = IPPROTO_TCP;
    body.idiag_states = states;
    body.idiag_ext = (1 << (INET_DIAG_INFO - 1)) | (1 << (INET_DIAG_SKMEMINFO - 1));
    const size_t attribute = filter.empty() ? 0 : RTA_SPACE(filter.size());
    std::vector<uint8_t> message(NLMSG_SPACE(sizeof(body)) + attribute, 0);
    nlmsghdr* header = reinterpret_cast<nlmsghdr*>(message.data());
    header->nlmsg_len = static_cast<uint32_t>(message.size());
    header->nlmsg_type = SOCK_DIAG_BY_FAMILY;
    header->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    header->nlmsg_seq = ++sequence_;
    std::memcpy(NLMSG_DATA(header), &body, sizeof(body));
    if (!filter.empty()) {
      rtattr* bytecode = reinterpret_cast<rtattr*>(message.data() + NLMSG_SPACE(sizeof(body)));
      bytecode->rta_type = INET_DIAG_REQ_BYTECODE;
      bytecode->rta_len = static_cast<unsigned short>(RTA_LENGTH(filter.size()));
      std::memcpy(RTA_DATA(bytecode), filter.data(), filter.size());
    }
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    for (;;) {
      if (sendto(sock_, message.data(), message.size(), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof(kernel)) >= 0)
        return true;
      if (errno != EINTR) return Fail("sendto", errno);
    }
  }

  bool Receive(int family) {
    for (;;) {
      ssize_t length = recv(sock_, buffer_.data(), buffer_.size(), 0);
      if (length < 0) {
        if (errno == EINTR) continue;
        return Fail("recv", errno);
      }
      if (length == 0) return true;
      int remaining = static_cast<int>(length);
      for (nlmsghdr* header = reinterpret_cast<nlmsghdr*>(buffer_.data()); NLMSG_OK(header, remaining);
           header = NLMSG_NEXT(header, remaining)) {
        if (header->nlmsg_type == NLMSG_DONE) return true;
        if (header->nlmsg_type == NLMSG_ERROR) {
          const nlmsgerr* error = static_cast<const nlmsgerr*>(NLMSG_DATA(header));
          return Fail("recv", error->error < 0 ? -error->error : EPROTO);
        }
        if (header->nlmsg_type == SOCK_DIAG_BY_FAMILY && header->nlmsg_len >= NLMSG_LENGTH(sizeof(inet_diag_msg)))
          Take(family, header);
      }
    }
  }

  // Whether an inode-less socket (TIME_WAIT, SYN_RECV) sits on one of our listeners.
  bool OnOurListener(const uint8_t address[16], uint16_t port) const {
    for (const Listener& listener : listeners_) {
      if (listener.port == port && (IsWildcard(listener.address) || std::memcmp(listener.address, address, 16) == 0))
        return true;
    }
    return false;
  }

  void Take(int family, const nlmsghdr* header) {
    const inet_diag_msg* msg = static_cast<const inet_diag_msg*>(NLMSG_DATA(header));
    result_->host_sockets++;
    int fd = -1;
    const uint16_t local_port = ntohs(msg->id.idiag_sport);
    uint8_t local[16];
    CanonicalAddress(family, msg->id.idiag_src, local);
    // A later dump sends again what an earlier one took: sockets on the ports it covered,
    // inode-less ones included. Only a socket of ours not seen yet is new.
    if (msg->idiag_inode != 0 && seen_.count(msg->idiag_inode) != 0) return;
    if (skip_taken_ports_ && taken_ports_[local_port] && msg->idiag_inode == 0) return;
    if (msg->idiag_inode != 0) {
      auto found = fds_.socket_fds.find(msg->idiag_inode);
      if (found == fds_.socket_fds.end()) return;
      fd = found->second;
      seen_.insert(msg->idiag_inode);
    } else if (msg->idiag_state == kListen || !OnOurListener(local, local_port)) {
      // No inode: TIME_WAIT, SYN_RECV, and orphans the app already closed (FIN_WAIT1/2,
      // LAST_ACK, CLOSING). Only those on our listening address and port are ours.
      return;
    }
    uint8_t side = kSideClient;
    if (msg->idiag_state == kListen) {
      Listener listener{};
      std::memcpy(listener.address, local, 16);
      listener.port = local_port;
      listener.family = family;
      listeners_.push_back(listener);
      side = kSideListener;
      result_->listeners++;
    } else if (fd < 0 || OnOurListener(local, local_port)) {
      side = kSideServer;
    }
    const uint8_t state = msg->idiag_state & 15;
    result_->by_local_port[local_port * 16u + state]++;
    if (side == kSideClient) result_->by_remote_port[ntohs(msg->id.idiag_dport) * 16u + state]++;
    std::vector<uint8_t>& rows = result_->rows;
    const size_t base = rows.size();
    rows.resize(base + row::kBytes, 0);
    Put<uint8_t>(rows, base, row::kFamily, msg->idiag_family);
    Put<uint8_t>(rows, base, row::kState, msg->idiag_state);
    Put<uint8_t>(rows, base, row::kTimer, msg->idiag_timer);
    Put<uint8_t>(rows, base, row::kRetrans, msg->idiag_retrans);
    Put<uint16_t>(rows, base, row::kLocalPort, local_port);
    Put<uint16_t>(rows, base, row::kRemotePort, ntohs(msg->id.idiag_dport));
    Put<uint32_t>(rows, base, row::kInode, msg->idiag_inode);
    Put<int32_t>(rows, base, row::kFd, fd);
    Put<uint32_t>(rows, base, row::kUid, msg->idiag_uid);
    Put<uint32_t>(rows, base, row::kRqueue, msg->idiag_rqueue);
    Put<uint32_t>(rows, base, row::kWqueue, msg->idiag_wqueue);
    Put<uint32_t>(rows, base, row::kExpiresMs, msg->idiag_expires);
    Put<uint8_t>(rows, base, row::kSide, side);
    std::memcpy(rows.data() + base + row::kLocalAddress, msg->id.idiag_src, 16);
    std::memcpy(rows.data() + base + row::kRemoteAddress, msg->id.idiag_dst, 16);
    // Attributes: INET_DIAG_INFO (tcp_info) and INET_DIAG_SKMEMINFO, as long as the kernel sent.
    int attributes_length = static_cast<int>(header->nlmsg_len - NLMSG_LENGTH(sizeof(inet_diag_msg)));
    for (const rtattr* attribute = reinterpret_cast<const rtattr*>(msg + 1); RTA_OK(attribute, attributes_length);
         attribute = RTA_NEXT(attribute, attributes_length)) {
      const size_t payload = RTA_PAYLOAD(attribute);
      if (attribute->rta_type == INET_DIAG_INFO) {
        const size_t length = payload < kTcpInfoCapacity ? payload : kTcpInfoCapacity;
        std::memcpy(rows.data() + base + row::kTcpInfo, RTA_DATA(attribute), length);
        Put<uint32_t>(rows, base, row::kTcpInfoLength, static_cast<uint32_t>(length));
      } else if (attribute->rta_type == INET_DIAG_SKMEMINFO) {
        const size_t length = payload < 4 * kSkmemSlots ? payload : 4 * kSkmemSlots;
        std::memcpy(rows.data() + base + row::kSkmem, RTA_DATA(attribute), length);
        Put<uint8_t>(rows, base, row::kSkmemCount, static_cast<uint8_t>(length / 4));
      }
    }
    result_->count++;
  }

  const FdScan& fds_;
  DiagResult* result_;
  std::vector<uint8_t> buffer_;
  std::vector<Listener> listeners_;
  int sock_ = -1;
  uint32_t sequence_ = 0;
  std::unordered_set<uint32_t> seen_;                                // inodes of ours already taken
  std::vector<bool> taken_ports_ = std::vector<bool>(65536, false);  // local ports a filtered dump covered
  bool skip_taken_ports_ = false;
};

}  // namespace

DiagResult DumpProcessTcpSockets(const FdScan& fds, std::vector<uint8_t> rows) {
  DiagResult result;
  result.rows = std::move(rows);
  result.rows.clear();
  result.rows.reserve((fds.socket_fds.size() + 64) * row::kBytes);
  Dumper(fds, &result).Run();
  return result;
}

}  // namespace sockprobe
