/**
 * The service `sockprobe allocators --load spike:…` measures when no --run is given: sockprobe's embedded
 * loopback server (TLS or TCP, holding what connects) in a process of its own, on a free port it
 * prints. It runs until it is signalled.
 */
import { startServer, type ConnectionKind } from '../load/server';

const kind: ConnectionKind = process.argv[2] === 'tcp' ? 'tcp' : 'tls';
startServer({ kind }).then(
  (server) => {
    process.stdout.write(`listening on 127.0.0.1:${server.port} (${kind})\n`);
    process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
  },
  (error: Error) => {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  },
);
