import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { Profile } from 'pprof-format';
import { describe, expect, it } from 'vitest';
import { siteCategory } from '../../src/native-heap/pprof';
import { encodePprof, toPprofProfile } from '../../src/native-heap/pprof';
import { makeProfile, site, STACKS } from '../helpers/native-heap';

const gunzip = promisify(zlib.gunzip);

/** Decodes with pprof-format's own decoder: what each sample's value and innermost-frame function are. */
async function decode(buffer: Buffer) {
  const profile = Profile.decode(await gunzip(buffer));
  const str = (i: number | bigint) => profile.stringTable.strings[Number(i)];
  const fnName = new Map(profile.function.map((f) => [Number(f.id), str(f.name)]));
  const locs = new Map(profile.location.map((l) => [Number(l.id), l]));
  const stackOf = (ids: Array<number | bigint>) => ids.map((id) => fnName.get(Number(locs.get(Number(id))!.line[0].functionId))!);
  return {
    profile,
    str,
    samples: profile.sample.map((s) => ({
      stack: stackOf(s.locationId),
      objects: Number(s.value[0]),
      bytes: Number(s.value[1]),
      labels: Object.fromEntries(s.label.map((l) => [str(l.key), str(l.str)])),
    })),
  };
}

describe('nativeHeap.toPprof (pprof-format encoding)', () => {
  const profile = makeProfile(
    [
      site(STACKS.ssl, 14_000_000, 2000),
      site(STACKS.readBuffer, 33_554_432, 512),
      site(STACKS.v8, 3_000_000, 90),
      site(STACKS.addon, 1_000_000, 7),
      site(STACKS.zlib, 500_000, 4),
    ],
    {},
    (s) => siteCategory(s.stack),
  );

  it('is gzip (magic 1f 8b) and decodes back to every site with its bytes, objects and stack', async () => {
    const buffer = await encodePprof(profile);
    expect([buffer[0], buffer[1]]).toEqual([0x1f, 0x8b]);
    const { profile: decoded, str, samples } = await decode(buffer);
    expect(decoded.sampleType.map((t) => `${str(t.type)}/${str(t.unit)}`)).toEqual(['inuse_objects/count', 'inuse_space/bytes']);
    expect(str(decoded.defaultSampleType)).toBe('inuse_space');
    expect(Number(decoded.period)).toBe(profile.sampleBytes);
    expect(samples.reduce((a, s) => a + s.bytes, 0)).toBe(profile.totalBytes);
    expect(samples).toHaveLength(profile.sites.length);
    for (const original of profile.sites) {
      const match = samples.find((s) => s.bytes === original.bytes)!;
      expect(match.objects).toBe(original.count);
      expect(match.stack[0]).toBe(original.stack[0].name ?? expect.any(String));
      expect(match.stack).toHaveLength(original.stack.length);
      expect(match.labels.category).toBe(siteCategory(original.stack));
    }
    expect(Number(decoded.timeNanos)).toBe(profile.takenAt * 1e6);
    expect(Number(decoded.durationNanos)).toBe((profile.takenAt - profile.startedAt) * 1e6);
  });

  it('gives one mapping per module spanning its frames, unsymbolized frames module+offset, JavaScript frames labelled', async () => {
    const { profile: decoded, str, samples } = await decode(await encodePprof(profile));
    const files = decoded.mapping.map((m) => str(m.filename)).sort();
    expect(files).toEqual([...new Set(profile.sites.flatMap((s) => s.stack.filter((f) => f.kind === 'native').map((f) => f.module!)))].sort());
    for (const location of decoded.location) {
      if (Number(location.mappingId) === 0) continue;
      const m = decoded.mapping.find((x) => x.id === location.mappingId)!;
      expect(BigInt(location.address)).toBeGreaterThanOrEqual(BigInt(m.memoryStart));
      expect(BigInt(location.address)).toBeLessThan(BigInt(m.memoryLimit));
    }
    expect(samples.find((s) => s.bytes === 1_000_000)!.stack[1]).toBe('fancy.node+0x1234');
    const js = samples.find((s) => s.bytes === 3_000_000)!.stack.at(-1)!;
    expect(js).toBe('onconnection [JS]');
    const jsFn = decoded.function.find((f) => str(f.name) === js)!;
    expect(str(jsFn.filename)).toBe('[JavaScript (JIT code)]');
  });

  it('gives V8 builtins run from the remapped copy of the executable a mapping of their own, at their file offset', async () => {
    // As Node 26 reported a Buffer.alloc() site: the allocator in the executable's loader mapping,
    // the builtin that called it in V8's second mapping of the same file (7f50d3580000, file
    // offset 0x1625000), with the offset the loader's copy has.
    const exe = STACKS.ssl[1].module!;
    const remapStart = 0x7f50d3580000n;
    const builtin = {
      name: 'Builtins_CEntry_Return1_ArgvOnStack_BuiltinExit',
      module: exe,
      address: '0x7f50d363e9b6',
      offset: 0x16e39b6,
      kind: 'native' as const,
    };
    const withBuiltin = makeProfile([site([...STACKS.readBuffer.slice(0, 2), builtin], 1_000_000)]);
    const { profile: decoded, str } = await decode(await encodePprof(withBuiltin));
    const ofExe = decoded.mapping.filter((m) => str(m.filename) === exe);
    expect(ofExe).toHaveLength(2);
    // The loader's mapping first (pprof's main binary), from the executable's base.
    expect(decoded.mapping[0]).toBe(ofExe[0]);
    expect(BigInt(ofExe[0].memoryStart)).toBe(0x400000n);
    const remap = ofExe[1];
    expect(BigInt(remap.memoryStart)).toBe(0x7f50d363e000n);
    expect(BigInt(remap.fileOffset)).toBe(0x16e3000n);
    // The start lies where /proc/self/maps put that file offset.
    expect(BigInt(remap.memoryStart) - remapStart).toBe(BigInt(remap.fileOffset) - 0x1625000n);
    const location = decoded.location.find((l) => BigInt(l.address) === BigInt(builtin.address))!;
    expect(location.mappingId).toBe(remap.id);
    // The loader mapping spans only the executable's own frames, not the libraries' addresses.
    expect(BigInt(ofExe[0].memoryLimit)).toBeLessThan(0x7f0000000000n);
  });

  it('names the sampling and the dropped samples in its comments', async () => {
    const { profile: decoded, str } = await decode(await encodePprof({ ...profile, dropped: 12 }));
    const comments = decoded.comment.map(str).join('\n');
    expect(comments).toContain(`sampleBytes ${profile.sampleBytes}`);
    expect(comments).toContain('12 sampled allocations found the table full');
  });

  it('shares functions and locations between sites (one function per symbol)', () => {
    const encoded = toPprofProfile(profile);
    const names = encoded.function.map((f) => encoded.stringTable.strings[Number(f.name)]);
    expect(names.filter((n) => n === 'malloc')).toHaveLength(1);
    expect(new Set(names).size).toBe(names.length);
  });

  it('rejects what is not a profile with a coded TypeError', async () => {
    for (const bad of [null, 42, {}, { ...profile, sites: 'x' }, { ...profile, sites: [{ bytes: 1, count: 1, stack: [{}] }] }]) {
      await expect(encodePprof(bad as never)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE', message: /Expected a native heap profile/ });
    }
  });
});
