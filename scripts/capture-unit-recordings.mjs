#!/usr/bin/env node
/**
 * Records the inputs the unit tier feeds through sockprobe's pure functions, from this machine
 * (a development tool, not a test: needs the built package, the preloadable allocators, ss and gdb).
 * Each recording sits beside a .meta.json holding what an independent source said at the same
 * moment (mallinfo2 around malloc_info, /proc/self/statm beside /proc/self/status, ss beside the
 * packed rows, jemalloc's malloc_stats_print through gdb beside its mallctl figures).
 *   node scripts/capture-unit-recordings.mjs            # all, into test/unit/recorded/
 */
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as net from 'node:net';
import * as path from 'node:path';
import * as tls from 'node:tls';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const out = path.join(root, 'test/unit/recorded');
const { native } = require(path.join(root, 'dist/cjs/native.js'));
const { makeCertificate } = require(path.join(root, 'dist/cjs/load/certificate.js'));
const LIB = '/usr/lib/x86_64-linux-gnu';
const PRELOAD = { jemalloc: `${LIB}/libjemalloc.so.2`, tcmalloc: `${LIB}/libtcmalloc_minimal.so.4`, mimalloc: `${LIB}/libmimalloc.so.2` };

const write = (name, data) => fs.writeFileSync(path.join(out, name), data);
const meta = (name, value) =>
  write(`${name}.meta.json`, `${JSON.stringify({ node: process.version, capturedAt: new Date().toISOString(), ...value }, null, 2)}\n`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** `count` TLS connections on 127.0.0.1, 16 KiB each way, then all closed: the spike whose leftovers the allocator keeps. */
async function tlsSpike(count) {
  const { key, cert } = makeCertificate();
  const server = tls.createServer({ key, cert }, (socket) => socket.on('data', (d) => socket.write(d)).on('error', () => {}));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const clients = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise((resolve, reject) => {
          const socket = tls
            .connect({ port: server.address().port, host: '127.0.0.1', rejectUnauthorized: false }, () => {
              let echoed = 0;
              socket.on('data', (d) => (echoed += d.length) >= 16384 && resolve(socket));
              socket.write(Buffer.alloc(16384, 7));
            })
            .on('error', reject);
        }),
    ),
  );
  await Promise.all(clients.map((socket) => new Promise((resolve) => socket.on('close', resolve).destroy())));
  await new Promise((resolve) => server.close(resolve));
  await sleep(300);
}

/** /proc/self/status between two equal reads of /proc/self/statm (the same mm counters, another format). */
function procStatus() {
  const statm = () => fs.readFileSync('/proc/self/statm', 'latin1').trim();
  for (let attempt = 0; attempt < 50; attempt++) {
    const before = statm();
    const status = fs.readFileSync('/proc/self/status', 'latin1');
    if (statm() !== before) continue;
    const [sizePages, residentPages, sharedPages] = before.split(/\s+/).map(Number);
    write('proc-status.txt', status);
    meta('proc-status', {
      source:
        '/proc/self/statm read just before and just after /proc/self/status, equal (pages of 4096 B): ' +
        'size = VmSize, resident = VmRSS, shared = RssFile + RssShmem',
      pageSize: 4096,
      statm: { sizePages, residentPages, sharedPages },
    });
    return;
  }
  throw new Error('/proc/self/statm moved across /proc/self/status in 50 attempts');
}

/** malloc_info after a TLS spike, retried until mallinfo2 reads the same before and after it. */
async function glibcAfterSpike() {
  await tlsSpike(400);
  for (let attempt = 0; attempt < 20; attempt++) {
    const before = native().mallinfo2();
    const xml = native().mallocInfoXml();
    const after = native().mallinfo2();
    if (before.arena === after.arena && before.hblkhd === after.hblkhd && before.fordblks === after.fordblks) {
      write('malloc-info-tls-spike.xml', xml);
      meta('malloc-info-tls-spike', {
        source:
          'glibc mallinfo2() read just before and just after malloc_info(), equal: arena = total system ' +
          'current, fordblks = free fast + rest, hblkhd/hblks = mmap size/count',
        spike: '400 TLS connections on 127.0.0.1, 16 KiB echoed each, all closed',
        mallinfo2: before,
      });
      return;
    }
  }
  throw new Error('mallinfo2 moved across malloc_info in 20 attempts');
}

/** A listener per family, idle clients, one peer with unread bytes, one CLOSE_WAIT; packed rows, then ss at once. */
async function sockets() {
  const listen = (server, host) => new Promise((resolve) => server.listen(0, host, () => resolve(server.address().port)));
  const connect = (port, host) =>
    new Promise((resolve) => {
      const s = net.connect(port, host, () => resolve(s));
    });
  const accepted = [];
  const v4 = net.createServer({ pauseOnConnect: true }, (s) => accepted.push(s));
  const v6 = net.createServer({ pauseOnConnect: true }, (s) => accepted.push(s));
  const port4 = await listen(v4, '127.0.0.1');
  const port6 = await listen(v6, '::1');
  const clients = [await connect(port4, '127.0.0.1'), await connect(port4, '127.0.0.1'), await connect(port6, '::1')];
  const talker = await connect(port4, '127.0.0.1');
  talker.write(Buffer.alloc(5000, 1)); // the server never reads: 5000 B sit in its receive queue
  const closer = await connect(port4, '127.0.0.1');
  closer.end(); // the server never closes its side: CLOSE_WAIT
  await sleep(1500); // idle times of a second and more
  const raw = await native().socketSnapshotRows(0);
  const started = Date.now();
  const ssAll = execFileSync('ss', ['-tanieHOpm', 'state', 'all'], { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 });
  // This process's sockets and the inode-less ones on its listening ports; the host's others are not kept.
  const ours = (line) => line.includes(`pid=${process.pid},`) || line.includes(`:${port4} `) || line.includes(`]:${port6} `);
  const ssText = ssAll.split('\n').filter(ours).join('\n') + '\n';
  const ssAfterMs = Date.now() - started;
  write('socket-rows.bin', Buffer.from(raw.rows));
  write('socket-rows.ss.txt', ssText);
  const { rows, ...figures } = raw;
  meta('socket-rows', {
    source:
      'native socketSnapshotRows(0), then `ss -tanieHOpm state all` within ssAfterMs, lines of this pid or on its listening ports kept (socket-rows.ss.txt)',
    pid: process.pid,
    ssAfterMs,
    ports: { ipv4Listener: port4, ipv6Listener: port6, unreadBytesClient: talker.localPort, closedClient: closer.localPort },
    unreadBytes: 5000,
    figures,
  });

  // tcp_info of the accepted socket holding the unread bytes, then ss for it.
  const server = accepted.find((s) => s.remotePort === talker.localPort);
  const buffer = new Uint8Array(384);
  const length = native().tcpProbe(server._handle.fd, buffer, 3);
  const probeStarted = Date.now();
  const ssInfo = execFileSync('ss', ['-tnieHOpm', 'state', 'all', `( sport = :${port4} and dport = :${talker.localPort} )`], {
    encoding: 'utf8',
    maxBuffer: 512 * 1024 * 1024,
  });
  write('tcp-info.bin', Buffer.from(buffer));
  write('tcp-info.ss.txt', ssInfo);
  meta('tcp-info', {
    source:
      'native tcpProbe(fd, buffer, queues|skmem) of the accepted socket holding 5000 unread bytes, ' +
      'then `ss -tnieHOpm` for it (tcp-info.ss.txt) within ssAfterMs',
    pid: process.pid,
    fd: server._handle.fd,
    tcpInfoLength: length,
    ssAfterMs: Date.now() - probeStarted,
    localPort: port4,
    remotePort: talker.localPort,
    unreadBytes: 5000,
  });
  for (const s of [...clients, talker, closer, ...accepted]) s.destroy();
  v4.close();
  v6.close();
}

/** In a child with `kind` preloaded: a TLS spike, then the allocator's figures and its own text. */
async function allocatorChild(kind) {
  await tlsSpike(300);
  const numbers = native().allocatorNumbers(kind);
  if (kind === 'jemalloc') {
    // jemalloc's own text comes from malloc_stats_print, called by gdb while this process waits.
    process.stdout.write(`${JSON.stringify({ numbers })}\n`);
    await new Promise((resolve) => process.stdin.once('data', resolve));
    process.stdin.destroy();
    process.stdout.write(`${JSON.stringify({ numbersAfter: native().allocatorNumbers(kind) })}\n`);
    return;
  }
  const text = native().allocatorStatsText(kind);
  process.stdout.write(`${JSON.stringify({ numbers, text, numbersAfter: native().allocatorNumbers(kind) })}\n`);
}

function runChild(kind) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [new URL(import.meta.url).pathname, '--child', kind], {
      env: { ...process.env, LD_PRELOAD: PRELOAD[kind] },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const results = [];
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.on('data', (d) => {
      stdout += d;
      for (let nl = stdout.indexOf('\n'); nl >= 0; nl = stdout.indexOf('\n')) {
        results.push(JSON.parse(stdout.slice(0, nl)));
        stdout = stdout.slice(nl + 1);
        if (kind === 'jemalloc' && results.length === 1) {
          execFileSync('gdb', ['-p', String(child.pid), '-batch', '-ex', 'call (void)malloc_stats_print(0, 0, 0)'], { stdio: 'ignore' });
          child.stdin.write('go\n');
        }
      }
    });
    child.on('exit', (code) =>
      code === 0 ? resolve({ results: Object.assign({}, ...results), stderr }) : reject(new Error(`${kind} child exited ${code}: ${stderr}`)),
    );
  });
}

async function allocators() {
  for (const kind of ['jemalloc', 'tcmalloc', 'mimalloc']) {
    const { results, stderr } = await runChild(kind);
    const text = kind === 'jemalloc' ? stderr.slice(stderr.indexOf('___ Begin jemalloc statistics ___')) : results.text;
    write(`${kind}-stats.txt`, text);
    const source = {
      jemalloc:
        "allocatorNumbers('jemalloc') (mallctl after an epoch refresh), then malloc_stats_print() " +
        'called through gdb (jemalloc-stats.txt), then allocatorNumbers again',
      tcmalloc:
        "allocatorNumbers('tcmalloc') (MallocExtension properties), then MallocExtension::GetStats() text (tcmalloc-stats.txt), then allocatorNumbers again",
      mimalloc: "allocatorNumbers('mimalloc') (mi_process_info), then mi_stats_print text (mimalloc-stats.txt), then allocatorNumbers again",
    }[kind];
    meta(`${kind}-stats`, {
      source,
      library: PRELOAD[kind],
      spike: '300 TLS connections on 127.0.0.1, 16 KiB echoed each, all closed',
      numbers: results.numbers,
      numbersAfter: results.numbersAfter,
    });
  }
}

if (process.argv[2] === '--child') {
  await allocatorChild(process.argv[3]);
} else {
  fs.mkdirSync(out, { recursive: true });
  procStatus();
  await sockets();
  await glibcAfterSpike();
  await allocators();
  console.log(`recorded into ${path.relative(process.cwd(), out)}`);
}
