import { oldestIdlePeers } from '../net/idle-peers';
import { socketSnapshot } from '../net/snapshot';
import { summariseSnapshot } from '../probe/socket-summary';
import { containerLedger, containerLedgerOf } from '../container/ledger';
import { containerMemory, containerMemoryOf } from '../container/memory';
import { parseFlags, type FlagSpec } from './args';
import { renderContainer } from './container-view';
import { kib, mib, table } from './format';

const FLAGS: Record<string, FlagSpec> = {
  pid: { type: 'integer', min: 1, max: 2 ** 31 - 1 },
  idle: { type: 'integer', min: 0, max: 86_400_000 },
  json: { type: 'boolean' },
  peers: { type: 'integer', min: 1, max: 1000 },
};

export const SNAPSHOT_USAGE = `  snapshot     TCP sockets by local port and state, idle and CLOSE_WAIT sockets, fd headroom,
               and the memory cgroup: limit, working set, events and who holds the usage (ledger)
    --pid PID          another process of yours (default: this one, which has few sockets)
    --idle MS          an established socket with no data for this long is idle (default 60000)
    --peers N          also the N connections idle longest: addresses, state, idle time, queues, kernel bytes
    --json             the summary, per-port counts, container and ledger as JSON`;

/** `sockprobe snapshot`: the socket side of a running service that does not load sockprobe. */
export async function snapshotCommand(args: string[]): Promise<number> {
  const flags = parseFlags(args, FLAGS);
  const idleMs = (flags.idle as number | undefined) ?? 60_000;
  // ERR_NO_SUCH_PROCESS and ERR_PROCESS_NOT_OWNED exit 3 with their code (describeFailure).
  const snapshot = await socketSnapshot({ pid: flags.pid as number | undefined });
  const summary = summariseSnapshot(snapshot, idleMs);
  const peers = flags.peers === undefined ? undefined : oldestIdlePeers(snapshot, flags.peers as number);
  const pid = flags.pid as number | undefined;
  const container = pid === undefined ? containerMemory() : containerMemoryOf(pid);
  let ledger = null;
  let ledgerFailure: string | null = null;
  if (container.version !== null) {
    try {
      const full = await (pid === undefined ? containerLedger() : containerLedgerOf(pid));
      const { container: _, ...rest } = full;
      ledger = rest;
    } catch (error) {
      ledgerFailure = (error as Error).message;
    }
  }
  if (flags.json) {
    console.log(
      JSON.stringify({
        pid: pid ?? process.pid,
        summary,
        byLocalPort: snapshot.counts.byLocalPort,
        byRemotePort: snapshot.counts.byRemotePort,
        fds: snapshot.fds,
        peers,
        container,
        ledger,
      }),
    );
    return 0;
  }
  const states = [...new Set(Object.values(snapshot.counts.byLocalPort).flatMap((s) => Object.keys(s)))].sort();
  const listening = new Set(snapshot.listeners.map((l) => l.localPort));
  const rows = Object.entries(snapshot.counts.byLocalPort)
    .filter(([port]) => listening.has(Number(port)))
    .map(([port, counts]) => [`:${port} (listening)`, ...states.map((s) => String(counts[s as keyof typeof counts] ?? ''))]);
  const clients = Object.entries(snapshot.counts.byRemotePort).map(([port, counts]) => [
    `→ :${port} (client)`,
    ...states.map((s) => String(counts[s as keyof typeof counts] ?? '')),
  ]);
  console.log(`TCP sockets of process ${flags.pid ?? process.pid}: ${snapshot.counts.total}`);
  if (rows.length + clients.length) console.log(table([['port', ...states], ...rows, ...clients]));
  console.log(
    `\nidle > ${idleMs / 1000} s: ${summary.idle.count} established sockets; ` +
      `CLOSE_WAIT: ${summary.byState.CLOSE_WAIT ?? 0}; kernel socket ` +
      `memory: ${mib(summary.kernelBytes)}`,
  );
  console.log(`fds: ${snapshot.fds.open} open of ${snapshot.fds.limit} (headroom ${snapshot.fds.headroom})`);
  if (peers) {
    console.log(`\nidle longest (${peers.length}):`);
    if (peers.length) {
      const header = ['fd', 'side', 'state', 'local', 'remote', 'idle s', 'recv-q', 'send-q', 'kernel'];
      const lines = peers.map((p) => [
        String(p.fd ?? '-'),
        p.side,
        p.state,
        p.local,
        p.remote,
        (p.idleMs / 1000).toFixed(1),
        String(p.inqBytes ?? '-'),
        String(p.outqBytes ?? '-'),
        kib(p.kernelBytes),
      ]);
      console.log(table([header, ...lines]));
    }
  }
  console.log('');
  for (const line of renderContainer(container, ledger, ledgerFailure)) console.log(line);
  return 0;
}
