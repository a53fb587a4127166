import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { root } from '../helpers/child';

// npm pack runs prepack (tsc, prebuildify --napi --strip --tag-libc, then the cross-compiled
// linux-arm64 prebuild): the tarball must carry both prebuilds so that users need no compiler.
describe('the npm tarball', () => {
  let dir: string;
  let tarball: string;
  const run = (cmd: string, args: string[], cwd: string, env: Record<string, string> = {}) =>
    execFileSync(cmd, args, { cwd, env: { ...process.env, ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockprobe-pack-'));
    // Pack from a copy: prebuildify rebuilds build/, which other test files load meanwhile.
    const source = path.join(dir, 'source');
    const skip = new Set(['node_modules', 'build', 'prebuilds', 'dist', '.git']);
    fs.cpSync(root, source, { recursive: true, filter: (from) => !skip.has(path.relative(root, from).split(path.sep)[0]) });
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(source, 'node_modules'));
    const name = run('npm', ['pack', '--silent', '--pack-destination', dir], source).trim().split('\n').pop()!;
    tarball = path.join(dir, name);
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
  }, 600_000);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('ships a linux-x64 N-API prebuild, the sources to rebuild, and both module formats', () => {
    const files = run('tar', ['-tzf', tarball], dir).split('\n');
    expect(files.some((f) => /^package\/prebuilds\/linux-x64\/[^/]+\.node$/.test(f))).toBe(true);
    expect(files).toContain('package/binding.gyp');
    expect(files).toContain('package/dist/cjs/index.js');
    expect(files).toContain('package/dist/esm/index.mjs');
    expect(files).toContain('package/dist/esm/index.d.mts');
    expect(files).toContain('package/dist/esm/opentelemetry.mjs');
    expect(files).toContain('package/dashboards/sockprobe.json');
    expect(files).toContain('package/dashboards/alerts.yml');
    // The README's links resolve inside the package too.
    expect(files).toContain('package/README.md');
    expect(files).toContain('package/CHANGELOG.md');
    expect(files).toContain('package/docs/api.md');
    expect(files.some((f) => f.startsWith('package/build/'))).toBe(false);
  });

  it('ships the linux-x64 and linux-arm64 prebuilds, each tagged glibc and an ELF of its machine (readelf)', () => {
    const extracted = path.join(dir, 'extracted');
    fs.mkdirSync(extracted, { recursive: true });
    run('tar', ['-xzf', tarball, '-C', extracted], dir);
    for (const [arch, machine] of [
      ['x64', /Machine:\s+Advanced Micro Devices X86-64/],
      ['arm64', /Machine:\s+AArch64/],
    ] as const) {
      const folder = path.join(extracted, 'package', 'prebuilds', `linux-${arch}`);
      const builds = fs.readdirSync(folder).filter((f) => f.endsWith('.node'));
      expect(builds).toEqual(['sockprobe.glibc.node']);
      expect(run('readelf', ['-h', path.join(folder, builds[0])], dir)).toMatch(machine);
    }
  });

  it('ships no private key: the loopback servers make a throwaway certificate at run time', () => {
    const listing = run('tar', ['-tzf', tarball], dir).split('\n');
    expect(listing.filter((f) => /\.(pem|key|p12|pfx)$/.test(f))).toEqual([]);
    const contents = execFileSync('tar', ['-xzOf', tarball], { cwd: dir, encoding: 'latin1', maxBuffer: 256 * 1024 * 1024 });
    expect(contents).not.toMatch(/-----BEGIN [A-Z ]*PRIVATE KEY-----/);
  });

  it('installs into an empty project and loads its prebuild with PREBUILDS_ONLY=1, from require and import', () => {
    run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], dir, { PREBUILDS_ONLY: '1' });
    expect(fs.existsSync(path.join(dir, 'node_modules', 'sockprobe', 'build'))).toBe(false); // nothing compiled
    const cjs = run(
      process.execPath,
      ['-e', 'const s = require("sockprobe"); console.log(JSON.stringify([s.allocator().name, s.capabilities().nativeAddon]))'],
      dir,
      { PREBUILDS_ONLY: '1' },
    );
    expect(JSON.parse(cjs)).toEqual(['glibc', true]);
    const esm = run(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        'import { allocatorStats } from "sockprobe"; import s from "sockprobe"; ' +
          'console.log(JSON.stringify([allocatorStats().allocator, typeof s.releaseToOS]))',
      ],
      dir,
      { PREBUILDS_ONLY: '1' },
    );
    expect(JSON.parse(esm)).toEqual(['glibc', 'function']);
    // The OpenTelemetry entry loads without @opentelemetry/api installed: the Meter is passed in.
    const otel = run(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        'import { registerSockprobeInstruments } from "sockprobe/opentelemetry"; const { ' +
          'registerSockprobeInstruments: r } = await import("node:module").then((m) => ' +
          'm.createRequire(process.cwd() + "/")("sockprobe/opentelemetry")); ' +
          'console.log(JSON.stringify([typeof registerSockprobeInstruments, r === ' +
          'registerSockprobeInstruments]))',
      ],
      dir,
      { PREBUILDS_ONLY: '1' },
    );
    expect(JSON.parse(otel)).toEqual(['function', true]);
  }, 120_000);

  // A strict consumer that never mentions Node's types itself: TypeScript 7 loads no @types
  // package unasked, so sockprobe's declarations must bring @types/node along.
  // TypeScript 7 comes from the registry into the consumer (npm links one `tsc` per project,
  // and the project builds with 5.x); 5.x is the project's own.
  it.each([
    ['TypeScript 7', '7.'],
    ['TypeScript 5', '5.'],
  ])(
    'type-checks strict ESM and CJS consumers with %s',
    (_name, major) => {
      const consumer = path.join(dir, 'typed');
      fs.mkdirSync(consumer, { recursive: true });
      let tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
      if (major === '7.') {
        const prefix = path.join(dir, 'typescript-7');
        run('npm', ['install', '--prefix', prefix, '--no-audit', '--no-fund', '--no-save', 'typescript@7.0.2'], dir);
        tsc = path.join(prefix, 'node_modules', 'typescript', 'bin', 'tsc');
      }
      const body = `const stats = allocatorStats();
const bytes: number | null = stats.allocatedBytes;
const report = createProbe().report();
const kinds: string[] = report.findings.map((finding) => finding.kind);
const running: boolean = probe.running;
for (const finding of report.findings) {
  if (finding.kind === 'idle-connections') {
    const idle: number = finding.evidence.idleConnections;
    console.log(idle);
  }
}
// @ts-expect-error tcpInfo takes a socket, a server or an fd, not a string
tcpInfo('3');
console.log(bytes, kinds, running, tcpInfo(0).state);
`;
      fs.writeFileSync(
        path.join(consumer, 'esm.mts'),
        `import { allocatorStats, createProbe, tcpInfo } from 'sockprobe';\nimport { probe } from 'sockprobe/register';\n${body}`,
      );
      fs.writeFileSync(
        path.join(consumer, 'cjs.cts'),
        `import { allocatorStats, createProbe, tcpInfo } from 'sockprobe';\nimport { probe } from 'sockprobe/register';\n${body}`,
      );
      fs.writeFileSync(
        path.join(consumer, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: { strict: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', noEmit: true },
          files: ['esm.mts', 'cjs.cts'],
        }),
      );
      const version = run(process.execPath, [tsc, '--version'], consumer);
      expect(version).toContain(`Version ${major}`);
      // Resolves sockprobe from the project above, where the tarball was installed.
      expect(() => run(process.execPath, [tsc, '-p', consumer], consumer)).not.toThrow();
    },
    120_000,
  );

  it('passes publint and arethetypeswrong for node16 CJS and ESM', () => {
    const lint = run(path.join(root, 'node_modules', '.bin', 'publint'), ['run', path.join(dir, 'source'), '--strict'], root);
    expect(lint).not.toMatch(/error|warning/i);
    const attw = run(path.join(root, 'node_modules', '.bin', 'attw'), [tarball, '--profile', 'node16', '--format', 'json'], dir);
    const report = JSON.parse(attw) as { analysis: { problems: Array<{ resolutionKind?: string }> } };
    // node10 resolution has no subpath exports at all; the node16 profile ignores it.
    expect(report.analysis.problems.filter((p) => p.resolutionKind !== 'node10')).toEqual([]);
  }, 120_000);
});
