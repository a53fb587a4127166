// The native unit tests (test/native/*_test.cc, built and run by scripts/native-tests.mjs):
// the addon's pure parts under AddressSanitizer and UBSan, against readelf, nm and the loader.
// Here rather than in the unit tier, which starts no child process: they need g++ and
// binutils, which the system tier's setup checks for. Each check's failure is printed by the
// runner; this test fails on any, and when fewer tests ran than test/native/ registers.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect, it } from 'vitest';
import { root } from '../helpers/child';

it('builds and passes every native unit test', () => {
  const dir = path.join(root, 'test', 'native');
  const registered = fs
    .readdirSync(dir)
    .filter((file) => file.endsWith('_test.cc'))
    .reduce((count, file) => count + (fs.readFileSync(path.join(dir, file), 'utf8').match(/^TEST\(/gm)?.length ?? 0), 0);
  const run = spawnSync(process.execPath, [path.join(root, 'scripts', 'native-tests.mjs')], { cwd: root, encoding: 'utf8' });
  const output = `${run.stdout}\n${run.stderr}`;
  expect(registered).toBeGreaterThan(0);
  expect(output, output).toContain(`\n${registered} tests, 0 failed\n`);
  expect(run.status, output).toBe(0);
}, 300_000);
