/**
 * struct tcp_info as of Linux 6.18 (280 bytes): each field's name in sockprobe (camelCase,
 * units in the name where they are not plain counts), its byte offset and how to read it.
 * Kept in step with native/net/tcp_info_layout.h. The kernel copies only as much as it
 * knows, so a field is reported only when offset + size fits inside the returned length.
 */
export type FieldKind = 'u8' | 'u16' | 'u32' | 'u64' | 'state' | 'caState' | 'lowNibble' | 'highNibble' | 'bit0' | 'bits1to2';

export interface TcpInfoField {
  name: string;
  /** The kernel's name (tcpi_…), for reference. */
  kernel: string;
  offset: number;
  kind: FieldKind;
}

const SIZE: Record<FieldKind, number> = { u8: 1, u16: 2, u32: 4, u64: 8, state: 1, caState: 1, lowNibble: 1, highNibble: 1, bit0: 1, bits1to2: 1 };

export function fieldSize(field: TcpInfoField): number {
  return SIZE[field.kind];
}

const f = (name: string, kernel: string, offset: number, kind: FieldKind): TcpInfoField => ({ name, kernel, offset, kind });

export const TCP_INFO_FIELDS: readonly TcpInfoField[] = [
  f('state', 'state', 0, 'state'),
  f('caState', 'ca_state', 1, 'caState'),
  f('retransmits', 'retransmits', 2, 'u8'),
  f('probes', 'probes', 3, 'u8'),
  f('backoff', 'backoff', 4, 'u8'),
  f('options', 'options', 5, 'u8'),
  f('sndWscale', 'snd_wscale', 6, 'lowNibble'),
  f('rcvWscale', 'rcv_wscale', 6, 'highNibble'),
  f('deliveryRateAppLimited', 'delivery_rate_app_limited', 7, 'bit0'),
  f('fastopenClientFail', 'fastopen_client_fail', 7, 'bits1to2'),
  f('rtoUs', 'rto', 8, 'u32'),
  f('atoUs', 'ato', 12, 'u32'),
  f('sndMss', 'snd_mss', 16, 'u32'),
  f('rcvMss', 'rcv_mss', 20, 'u32'),
  f('unacked', 'unacked', 24, 'u32'),
  f('sacked', 'sacked', 28, 'u32'),
  f('lost', 'lost', 32, 'u32'),
  f('retrans', 'retrans', 36, 'u32'),
  f('fackets', 'fackets', 40, 'u32'),
  f('lastDataSentMs', 'last_data_sent', 44, 'u32'),
  f('lastAckSentMs', 'last_ack_sent', 48, 'u32'),
  f('lastDataRecvMs', 'last_data_recv', 52, 'u32'),
  f('lastAckRecvMs', 'last_ack_recv', 56, 'u32'),
  f('pmtu', 'pmtu', 60, 'u32'),
  f('rcvSsthresh', 'rcv_ssthresh', 64, 'u32'),
  f('rttUs', 'rtt', 68, 'u32'),
  f('rttvarUs', 'rttvar', 72, 'u32'),
  f('sndSsthresh', 'snd_ssthresh', 76, 'u32'),
  f('sndCwnd', 'snd_cwnd', 80, 'u32'),
  f('advmss', 'advmss', 84, 'u32'),
  f('reordering', 'reordering', 88, 'u32'),
  f('rcvRttUs', 'rcv_rtt', 92, 'u32'),
  f('rcvSpace', 'rcv_space', 96, 'u32'),
  f('totalRetrans', 'total_retrans', 100, 'u32'),
  f('pacingRateBytesPerSec', 'pacing_rate', 104, 'u64'),
  f('maxPacingRateBytesPerSec', 'max_pacing_rate', 112, 'u64'),
  f('bytesAcked', 'bytes_acked', 120, 'u64'),
  f('bytesReceived', 'bytes_received', 128, 'u64'),
  f('segsOut', 'segs_out', 136, 'u32'),
  f('segsIn', 'segs_in', 140, 'u32'),
  f('notsentBytes', 'notsent_bytes', 144, 'u32'),
  f('minRttUs', 'min_rtt', 148, 'u32'),
  f('dataSegsIn', 'data_segs_in', 152, 'u32'),
  f('dataSegsOut', 'data_segs_out', 156, 'u32'),
  f('deliveryRateBytesPerSec', 'delivery_rate', 160, 'u64'),
  f('busyTimeUs', 'busy_time', 168, 'u64'),
  f('rwndLimitedUs', 'rwnd_limited', 176, 'u64'),
  f('sndbufLimitedUs', 'sndbuf_limited', 184, 'u64'),
  f('delivered', 'delivered', 192, 'u32'),
  f('deliveredCe', 'delivered_ce', 196, 'u32'),
  f('bytesSent', 'bytes_sent', 200, 'u64'),
  f('bytesRetrans', 'bytes_retrans', 208, 'u64'),
  f('dsackDups', 'dsack_dups', 216, 'u32'),
  f('reordSeen', 'reord_seen', 220, 'u32'),
  f('rcvOoopack', 'rcv_ooopack', 224, 'u32'),
  f('sndWndBytes', 'snd_wnd', 228, 'u32'),
  f('rcvWndBytes', 'rcv_wnd', 232, 'u32'),
  f('rehash', 'rehash', 236, 'u32'),
  f('totalRto', 'total_rto', 240, 'u16'),
  f('totalRtoRecoveries', 'total_rto_recoveries', 242, 'u16'),
  f('totalRtoTimeMs', 'total_rto_time', 244, 'u32'),
  f('receivedCe', 'received_ce', 248, 'u32'),
  f('deliveredE1Bytes', 'delivered_e1_bytes', 252, 'u32'),
  f('deliveredE0Bytes', 'delivered_e0_bytes', 256, 'u32'),
  f('deliveredCeBytes', 'delivered_ce_bytes', 260, 'u32'),
  f('receivedE1Bytes', 'received_e1_bytes', 264, 'u32'),
  f('receivedE0Bytes', 'received_e0_bytes', 268, 'u32'),
  f('receivedCeBytes', 'received_ce_bytes', 272, 'u32'),
  f('accecnFailMode', 'accecn_fail_mode', 276, 'u16'),
  f('accecnOptSeen', 'accecn_opt_seen', 278, 'u16'),
];

/** The length of the struct this table describes. */
export const TCP_INFO_KNOWN_BYTES = 280;
