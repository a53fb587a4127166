/**
 * `node -r sockprobe/register app.js` (or `--import sockprobe/register`): starts a probe from
 * environment variables, no code change.
 *   SOCKPROBE_INTERVAL_MS      sampling interval in ms, a whole number from 10 (default 1000)
 *   SOCKPROBE_AUTO_RELEASE=1   give memory back when a connection spike ends (1/true/yes/on, 0/false/no/off;
 *                              paced: at 64 MiB/s, paced:<MiB/s>: at that budget, like Go's scavenger)
 *   SOCKPROBE_OPENSSL=1        track OpenSSL allocations (where capabilities() allows)
 *   SOCKPROBE_NATIVE_HEAP=1    profile the native heap by call site (nativeHeapProfile; where capabilities() allows);
 *                              or =<bytes> (64k, 1MiB, 65536: from 4096): the mean bytes between samples — finer
 *                              is more precise (a holder's error is 1/√samples) and costs more; default 512 KiB
 *   SOCKPROBE_NATIVE_HEAP_INTERVAL_MS  how often the probe takes a profile, from 1000 (default 60 000)
 *   SOCKPROBE_REPORT=stderr|PATH  where `kill -USR2 <pid>` writes the report (default stderr)
 * A value that cannot be read is named on stderr with what was expected; the probe then
 * starts with that setting's default. The running probe: `import { probe } from
 * 'sockprobe/register'` or `require('sockprobe/register').probe`.
 */
import * as fs from 'node:fs';
import { createProbe, type Probe } from './probe/probe';
import { settingsFromEnvironment } from './register-settings';

const say = (line: string) => process.stderr.write(`sockprobe/register: ${line}\n`);

function writeReport(target: string, text: string): void {
  if (target === 'stderr') {
    process.stderr.write(text);
    return;
  }
  fs.writeFile(target, text, (error) => {
    if (error) say(`cannot write the report to SOCKPROBE_REPORT=${target}: ${error.message}`);
  });
}

function fromEnvironment(env: NodeJS.ProcessEnv): Probe {
  const probe = createProbe(settingsFromEnvironment(env, say));
  const target = env.SOCKPROBE_REPORT || 'stderr';
  process.on('SIGUSR2', () => writeReport(target, `${probe.renderReport()}\n`));
  return probe.start();
}

/** The probe this module started. */
export const probe: Probe = fromEnvironment(process.env);
