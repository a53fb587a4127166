/**
 * Which C library the running process uses, and whether a prebuild may be loaded under it.
 * node-gyp-build guesses musl only from /etc/alpine-release, and our linux-x64 prebuild was
 * built against glibc: dlopen of it under musl fails on missing glibc symbols at best, or loads
 * and crashes later. The running executable's ELF interpreter (ld-linux-* or ld-musl-*) is the
 * libc the process really has, on Alpine and on every other musl system alike.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export type Libc = 'glibc' | 'musl' | 'unknown';

const PT_INTERP = 3;

/** The dynamic loader an ELF executable names (PT_INTERP), or undefined when it names none or is not ELF. */
export function elfInterpreter(file: string): string | undefined {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    const header = Buffer.alloc(64);
    if (fs.readSync(fd, header, 0, 64, 0) < 52 || header.readUInt32BE(0) !== 0x7f454c46) return undefined;
    const is64 = header[4] === 2;
    const little = header[5] === 1;
    const u16 = (b: Buffer, at: number) => (little ? b.readUInt16LE(at) : b.readUInt16BE(at));
    const u32 = (b: Buffer, at: number) => (little ? b.readUInt32LE(at) : b.readUInt32BE(at));
    const word = (b: Buffer, at: number) => (is64 ? Number(little ? b.readBigUInt64LE(at) : b.readBigUInt64BE(at)) : u32(b, at));
    const phoff = word(header, is64 ? 0x20 : 0x1c);
    const phentsize = u16(header, is64 ? 0x36 : 0x2a);
    const phnum = u16(header, is64 ? 0x38 : 0x2c);
    if (phnum === 0 || phnum > 256 || phentsize < (is64 ? 56 : 32)) return undefined;
    const table = Buffer.alloc(phentsize * phnum);
    fs.readSync(fd, table, 0, table.length, phoff);
    for (let i = 0; i < phnum; i++) {
      const entry = table.subarray(i * phentsize, (i + 1) * phentsize);
      if (u32(entry, 0) !== PT_INTERP) continue;
      const offset = word(entry, is64 ? 8 : 4);
      const size = Math.min(word(entry, is64 ? 32 : 16), 4096);
      const name = Buffer.alloc(size);
      fs.readSync(fd, name, 0, size, offset);
      return name.toString('latin1').replace(/\0.*$/s, '');
    }
    return undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** The libc an ELF interpreter path belongs to. */
export function libcOfInterpreter(interpreter: string | undefined): Libc {
  if (!interpreter) return 'unknown';
  const base = path.basename(interpreter);
  if (base.startsWith('ld-musl-')) return 'musl';
  if (base.startsWith('ld-linux') || base === 'ld64.so.2' || base === 'ld64.so.1' || base === 'ld.so.1') return 'glibc';
  return 'unknown';
}

let running: Libc | undefined;

/** The C library of this process on Linux (read once); 'unknown' elsewhere or for a static executable. */
export function runningLibc(): Libc {
  if (running === undefined) running = process.platform === 'linux' ? libcOfInterpreter(elfInterpreter('/proc/self/exe')) : 'unknown';
  return running;
}

/**
 * Why the addon file node-gyp-build chose must not be loaded under `libc`, or undefined when it
 * may. Only prebuilds are judged (a build/ from source was compiled here, against this libc); a
 * prebuild with no libc tag is one of ours from before the tag, built on glibc.
 */
export function foreignPrebuildReason(file: string, libc: Libc): string | undefined {
  if (libc !== 'musl' || !file.split(path.sep).includes('prebuilds')) return undefined;
  const tags = path.basename(file).split('.');
  if (tags.includes('musl')) return undefined;
  return `the prebuild ${path.basename(path.dirname(file))}/${path.basename(file)} was built for glibc and this process runs on musl`;
}
