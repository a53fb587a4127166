import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { root } from '../helpers/child';
import type { OpensslStats } from '../../src';

// gdb's own count of OpenSSL's live blocks, independent of sockprobe: breakpoints on every
// entry point that calls OpenSSL's allocator (CRYPTO_zalloc, CRYPTO_clear_realloc and
// CRYPTO_clear_free inline CRYPTO_malloc/free, so they need their own), the returned
// pointer read when each call returns, a map of pointer -> requested size. The target's
// two getegid() calls bracket the window: the first arms it, the second stops and reports.
const GDB_COUNTER = `import gdb, json
live = {}
state = {'armed': False, 'marks': 0, 'calls': 0}

def reg(name):
    return int(gdb.parse_and_eval('$' + name)) & 0xffffffffffffffff

class Returned(gdb.FinishBreakpoint):
    def __init__(self, frame, kind, address, size):
        super().__init__(frame, internal=True)
        self.silent = True
        self.kind, self.address, self.size = kind, address, size
    def stop(self):
        result = reg('rax')
        if result:
            if self.kind == 'clear_realloc' and result == self.address:
                return False  # shrunk in place: the block keeps its allocated size
            if self.kind in ('realloc', 'clear_realloc'):
                live.pop(self.address, None)
            live[result] = self.size
        return False
    def out_of_scope(self):
        pass

class Entry(gdb.Breakpoint):
    def __init__(self, spec, kind):
        super().__init__(spec, internal=True)
        self.silent = True
        self.kind = kind
    def stop(self):
        if not state['armed']:
            return False
        state['calls'] += 1
        if self.kind == 'malloc':
            Returned(gdb.newest_frame(), 'malloc', 0, reg('rdi'))
        elif self.kind in ('realloc', 'clear_realloc'):
            address, size = reg('rdi'), reg('rsi' if self.kind == 'realloc' else 'rdx')
            if address and size == 0:
                live.pop(address, None)
            else:
                Returned(gdb.newest_frame(), self.kind, address, size)
        else:
            live.pop(reg('rdi'), None)
        return False

class Marker(gdb.Breakpoint):
    def __init__(self):
        super().__init__('getegid', internal=True)
        self.silent = True
    def stop(self):
        state['marks'] += 1
        if state['marks'] == 1:
            live.clear()
            state['armed'] = True
            return False
        state['armed'] = False
        return True

Entry('*CRYPTO_malloc', 'malloc')
Entry('*CRYPTO_zalloc', 'malloc')
Entry('*CRYPTO_realloc', 'realloc')
Entry('*CRYPTO_clear_realloc', 'clear_realloc')
Entry('*CRYPTO_free', 'free')
Entry('*CRYPTO_clear_free', 'free')
Marker()
print('ARMED', flush=True)
`;

const K = 2;

type Stats = Pick<OpensslStats, 'liveBytes' | 'liveAllocations'>;

function crossCheck(dir: string): Promise<{ gdb: { bytes: number; blocks: number; calls: number }; sockprobe: Stats; log: string }> {
  const script = path.join(dir, 'count.py');
  fs.writeFileSync(script, GDB_COUNTER);
  const fixture = path.join(root, 'test', 'fixtures', 'openssl-crosscheck.js');
  const target = spawn(process.execPath, ['--expose-gc', fixture, String(K)], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, LD_PRELOAD: '' } });
  let targetOut = '';
  let gdbOut = '';
  let gdbStarted = false;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      target.kill('SIGKILL');
      reject(new Error(`cross-check timed out\ntarget:\n${targetOut}\ngdb:\n${gdbOut}`));
    }, 90_000);
    target.stderr.on('data', (chunk) => (targetOut += chunk));
    target.stdout.on('data', (chunk) => {
      targetOut += chunk;
      const ready = /"op":"ready","pid":(\d+)/.exec(targetOut);
      if (!ready || gdbStarted) return;
      gdbStarted = true;
      const report = 'python print("RESULT " + json.dumps({"bytes": sum(live.values()), "blocks": len(live), "calls": state["calls"]}), flush=True)';
      const gdb = spawn(
        'gdb',
        ['-q', '-nx', '-batch', '-p', ready[1], '-ex', `source ${script}`, '-ex', 'continue', '-ex', report, '-ex', 'detach', '-ex', 'quit'],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      const onGdb = (chunk: Buffer) => {
        gdbOut += chunk;
        // Breakpoints are in: let the target run its window.
        if (gdbOut.includes('ARMED') && target.stdin.writable) target.stdin.end('go\n');
      };
      gdb.stdout.on('data', onGdb);
      gdb.stderr.on('data', onGdb);
      gdb.on('error', reject);
    });
    target.on('close', () => {
      clearTimeout(timer);
      const lines = targetOut.trim().split('\n');
      const result = lines
        .map((line) => {
          try {
            return JSON.parse(line);
          } catch {
            return undefined;
          }
        })
        .filter((value) => value?.op === 'result')
        .pop();
      const counted = /RESULT (\{.*\})/.exec(gdbOut);
      if (!result || !counted) return reject(new Error(`no result\ntarget:\n${targetOut}\ngdb:\n${gdbOut}`));
      resolve({ gdb: JSON.parse(counted[1]), sockprobe: result.stats, log: gdbOut });
    });
  });
}

describe('OpenSSL per-connection bytes, cross-checked with gdb', () => {
  it('matches gdb breakpoints on CRYPTO_malloc/realloc/free for a small number of TLS connections', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockprobe-gdb-'));
    try {
      const { gdb, sockprobe } = await crossCheck(dir);
      // The window really saw a TLS handshake's worth of allocator traffic.
      expect(gdb.calls).toBeGreaterThan(100 * K);
      const gdbPerConnection = gdb.bytes / K;
      const ourPerConnection = sockprobe.liveBytes / K;
      expect(ourPerConnection).toBeGreaterThan(4096);
      expect(Math.abs(ourPerConnection - gdbPerConnection)).toBeLessThanOrEqual(gdbPerConnection * 0.01);
      expect(Math.abs(sockprobe.liveAllocations - gdb.blocks)).toBeLessThanOrEqual(1);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
