import { SockprobeTypeError } from '../errors';

function stateNumber(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw new SockprobeTypeError(name, 'a non-negative integer', value);
  return value;
}

/** Linux TCP states (include/net/tcp_states.h) by number, under the kernel's names. */
export type TcpStateName =
  | 'ESTABLISHED'
  | 'SYN_SENT'
  | 'SYN_RECV'
  | 'FIN_WAIT1'
  | 'FIN_WAIT2'
  | 'TIME_WAIT'
  | 'CLOSE'
  | 'CLOSE_WAIT'
  | 'LAST_ACK'
  | 'LISTEN'
  | 'CLOSING'
  | 'NEW_SYN_RECV'
  | 'BOUND_INACTIVE';

const NAMES: readonly TcpStateName[] = [
  'ESTABLISHED',
  'SYN_SENT',
  'SYN_RECV',
  'FIN_WAIT1',
  'FIN_WAIT2',
  'TIME_WAIT',
  'CLOSE',
  'CLOSE_WAIT',
  'LAST_ACK',
  'LISTEN',
  'CLOSING',
  'NEW_SYN_RECV',
  'BOUND_INACTIVE',
];

export const TCP_ESTABLISHED = 1;
export const TCP_LISTEN = 10;

/** The state's name; a state this table does not know yet reads as `UNKNOWN_<n>`. */
export function tcpStateName(state: number): TcpStateName {
  stateNumber('state', state);
  return NAMES[state - 1] ?? (`UNKNOWN_${state}` as TcpStateName);
}

/** Congestion-avoidance states (tcpi_ca_state). */
export type TcpCaStateName = 'open' | 'disorder' | 'cwr' | 'recovery' | 'loss';
const CA_NAMES: readonly TcpCaStateName[] = ['open', 'disorder', 'cwr', 'recovery', 'loss'];

export function tcpCaStateName(state: number): TcpCaStateName {
  stateNumber('state', state);
  return CA_NAMES[state] ?? (`unknown_${state}` as TcpCaStateName);
}

/** tcpi_options bits (TCPI_OPT_*), as ss prints them. */
const OPTION_BITS: ReadonlyArray<[number, string]> = [
  [1, 'ts'],
  [2, 'sack'],
  [4, 'wscale'],
  [8, 'ecn'],
  [16, 'ecnseen'],
  [32, 'syn_data'],
  [64, 'usec_ts'],
  [128, 'tfo_child'],
];

/** Names of the TCP options negotiated on a connection, from `tcpInfo().options`. */
export function tcpOptionNames(options: number): string[] {
  stateNumber('options', options);
  return OPTION_BITS.filter(([bit]) => (options & bit) !== 0).map(([, name]) => name);
}
