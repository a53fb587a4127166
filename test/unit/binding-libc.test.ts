// The loader's libc check: a glibc prebuild must never be loaded into a musl process (dlopen
// fails on glibc's versioned symbols, or the addon loads and crashes later).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { elfInterpreter, foreignPrebuildReason, libcOfInterpreter, runningLibc } from '../../src/binding/libc';

/** A minimal ELF64 little-endian header with one PT_INTERP program header naming `interpreter`. */
function elfWithInterpreter(interpreter: string): Buffer {
  const name = Buffer.from(`${interpreter}\0`, 'latin1');
  const file = Buffer.alloc(64 + 56 + name.length);
  file.writeUInt32BE(0x7f454c46, 0);
  file[4] = 2; // ELFCLASS64
  file[5] = 1; // little-endian
  file.writeBigUInt64LE(64n, 0x20); // e_phoff
  file.writeUInt16LE(56, 0x36); // e_phentsize
  file.writeUInt16LE(1, 0x38); // e_phnum
  file.writeUInt32LE(3, 64); // PT_INTERP
  file.writeBigUInt64LE(BigInt(64 + 56), 64 + 8); // p_offset
  file.writeBigUInt64LE(BigInt(name.length), 64 + 32); // p_filesz
  name.copy(file, 64 + 56);
  return file;
}

describe('the running libc', () => {
  // Checked against readelf's answer in test/system/install-no-prebuild.test.ts.
  it("reads the node binary's loader, the same through /proc/self/exe, and calls this machine's glibc", () => {
    expect(elfInterpreter(process.execPath)).toMatch(/\/ld-linux-x86-64\.so\.2$/);
    expect(elfInterpreter('/proc/self/exe')).toBe(elfInterpreter(process.execPath));
    expect(runningLibc()).toBe('glibc');
  });

  it('names musl from its loader, and reads a header it did not build from an executable', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockprobe-elf-'));
    try {
      const file = path.join(dir, 'musl-exe');
      fs.writeFileSync(file, elfWithInterpreter('/lib/ld-musl-x86_64.so.1'));
      expect(elfInterpreter(file)).toBe('/lib/ld-musl-x86_64.so.1');
      fs.writeFileSync(path.join(dir, 'not-elf'), '#!/bin/sh\n');
      expect(elfInterpreter(path.join(dir, 'not-elf'))).toBeUndefined();
      expect(elfInterpreter(path.join(dir, 'missing'))).toBeUndefined();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    expect(libcOfInterpreter('/lib/ld-musl-aarch64.so.1')).toBe('musl');
    expect(libcOfInterpreter('/lib64/ld-linux-x86-64.so.2')).toBe('glibc');
    expect(libcOfInterpreter('/lib/ld-linux-aarch64.so.1')).toBe('glibc');
    expect(libcOfInterpreter(undefined)).toBe('unknown');
  });

  it('refuses a glibc or untagged prebuild under musl only; a build from source is always this libc', () => {
    const root = path.join(path.sep, 'app', 'node_modules', 'sockprobe');
    const tagged = path.join(root, 'prebuilds', 'linux-x64', 'node.napi.glibc.node');
    const untagged = path.join(root, 'prebuilds', 'linux-x64', 'node.napi.node');
    const musl = path.join(root, 'prebuilds', 'linux-x64', 'node.napi.musl.node');
    const built = path.join(root, 'build', 'Release', 'sockprobe.node');
    expect(foreignPrebuildReason(tagged, 'musl')).toBe('the prebuild linux-x64/node.napi.glibc.node was built for glibc and this process runs on musl');
    expect(foreignPrebuildReason(untagged, 'musl')).toMatch(/built for glibc/);
    expect(foreignPrebuildReason(musl, 'musl')).toBeUndefined();
    expect(foreignPrebuildReason(built, 'musl')).toBeUndefined();
    expect(foreignPrebuildReason(tagged, 'glibc')).toBeUndefined();
    expect(foreignPrebuildReason(tagged, 'unknown')).toBeUndefined();
  });
});
