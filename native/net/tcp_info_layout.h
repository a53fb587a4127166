// sockprobe's own copy of struct tcp_info as of Linux 6.18 (280 bytes), so fields newer than
// the build host's headers (Debian's stop at tcpi_snd_wnd, 232 bytes) are still read where
// the running kernel fills them. The kernel copies min(our size, its size) and returns that
// length; TypeScript decodes only the fields inside the returned length (src/net/tcp-info-fields.ts
// holds the same offsets, and a test compares every one of them with netLayout()).
#pragma once
#include <cstddef>
#include <cstdint>

namespace sockprobe {

struct TcpInfo {
  uint8_t state;
  uint8_t ca_state;
  uint8_t retransmits;
  uint8_t probes;
  uint8_t backoff;
  uint8_t options;
  uint8_t wscale;       // snd_wscale:4 (low nibble), rcv_wscale:4 (high nibble)
  uint8_t app_limited;  // delivery_rate_app_limited:1, fastopen_client_fail:2
  uint32_t rto;
  uint32_t ato;
  uint32_t snd_mss;
  uint32_t rcv_mss;
  uint32_t unacked;
  uint32_t sacked;
  uint32_t lost;
  uint32_t retrans;
  uint32_t fackets;
  uint32_t last_data_sent;
  uint32_t last_ack_sent;
  uint32_t last_data_recv;
  uint32_t last_ack_recv;
  uint32_t pmtu;
  uint32_t rcv_ssthresh;
  uint32_t rtt;
  uint32_t rttvar;
  uint32_t snd_ssthresh;
  uint32_t snd_cwnd;
  uint32_t advmss;
  uint32_t reordering;
  uint32_t rcv_rtt;
  uint32_t rcv_space;
  uint32_t total_retrans;
  uint64_t pacing_rate;
  uint64_t max_pacing_rate;
  uint64_t bytes_acked;
  uint64_t bytes_received;
  uint32_t segs_out;
  uint32_t segs_in;
  uint32_t notsent_bytes;
  uint32_t min_rtt;
  uint32_t data_segs_in;
  uint32_t data_segs_out;
  uint64_t delivery_rate;
  uint64_t busy_time;
  uint64_t rwnd_limited;
  uint64_t sndbuf_limited;
  uint32_t delivered;
  uint32_t delivered_ce;
  uint64_t bytes_sent;
  uint64_t bytes_retrans;
  uint32_t dsack_dups;
  uint32_t reord_seen;
  uint32_t rcv_ooopack;
  uint32_t snd_wnd;    // 232: end of Debian 12's linux/tcp.h
  uint32_t rcv_wnd;    // Linux 6.2
  uint32_t rehash;     // Linux 6.2
  uint16_t total_rto;  // Linux 6.7
  uint16_t total_rto_recoveries;
  uint32_t total_rto_time;
  uint32_t received_ce;  // Linux 6.18 (AccECN)
  uint32_t delivered_e1_bytes;
  uint32_t delivered_e0_bytes;
  uint32_t delivered_ce_bytes;
  uint32_t received_e1_bytes;
  uint32_t received_e0_bytes;
  uint32_t received_ce_bytes;
  uint16_t accecn_fail_mode;
  uint16_t accecn_opt_seen;
};

// Every whole-byte member, for the addon to export each one's offset and size
// (netLayout()), so the TypeScript table is checked field by field against this struct.
// The two bitfield bytes (wscale, app_limited) are exported by hand beside it.
#define SOCKPROBE_TCP_INFO_FIELDS(X) \
  X(state)                           \
  X(ca_state)                        \
  X(retransmits)                     \
  X(probes)                          \
  X(backoff)                         \
  X(options)                         \
  X(rto)                             \
  X(ato)                             \
  X(snd_mss)                         \
  X(rcv_mss)                         \
  X(unacked)                         \
  X(sacked)                          \
  X(lost)                            \
  X(retrans)                         \
  X(fackets)                         \
  X(last_data_sent)                  \
  X(last_ack_sent)                   \
  X(last_data_recv)                  \
  X(last_ack_recv)                   \
  X(pmtu)                            \
  X(rcv_ssthresh)                    \
  X(rtt)                             \
  X(rttvar)                          \
  X(snd_ssthresh)                    \
  X(snd_cwnd)                        \
  X(advmss)                          \
  X(reordering)                      \
  X(rcv_rtt)                         \
  X(rcv_space)                       \
  X(total_retrans)                   \
  X(pacing_rate)                     \
  X(max_pacing_rate)                 \
  X(bytes_acked)                     \
  X(bytes_received)                  \
  X(segs_out)                        \
  X(segs_in)                         \
  X(notsent_bytes)                   \
  X(min_rtt)                         \
  X(data_segs_in)                    \
  X(data_segs_out)                   \
  X(delivery_rate)                   \
  X(busy_time)                       \
  X(rwnd_limited)                    \
  X(sndbuf_limited)                  \
  X(delivered)                       \
  X(delivered_ce)                    \
  X(bytes_sent)                      \
  X(bytes_retrans)                   \
  X(dsack_dups)                      \
  X(reord_seen)                      \
  X(rcv_ooopack)                     \
  X(snd_wnd)                         \
  X(rcv_wnd)                         \
  X(rehash)                          \
  X(total_rto)                       \
  X(total_rto_recoveries)            \
  X(total_rto_time)                  \
  X(received_ce)                     \
  X(delivered_e1_bytes)              \
  X(delivered_e0_bytes)              \
  X(delivered_ce_bytes)              \
  X(received_e1_bytes)               \
  X(received_e0_bytes)               \
  X(received_ce_bytes)               \
  X(accecn_fail_mode)                \
  X(accecn_opt_seen)

static_assert(offsetof(TcpInfo, pacing_rate) == 104, "tcp_info layout");
static_assert(offsetof(TcpInfo, snd_wnd) == 228, "tcp_info layout");
static_assert(offsetof(TcpInfo, total_rto_time) == 244, "tcp_info layout");
static_assert(sizeof(TcpInfo) == 280, "tcp_info layout");

// Room for a kernel newer than this struct: its extra length is reported, not decoded.
constexpr size_t kTcpInfoCapacity = 320;

}  // namespace sockprobe
