/**
 * `node -r sockprobe/register app.js` (or `--import sockprobe/register`): starts a probe from
 * environment variables, no code change.
 *   SOCKPROBE_INTERVAL_MS      sampling interval (default 1000)
 *   SOCKPROBE_AUTO_RELEASE=1   give memory back when a connection spike ends
 *   SOCKPROBE_OPENSSL=1        track OpenSSL allocations (where capabilities() allows)
 *   SOCKPROBE_REPORT=stderr|PATH  where `kill -USR2 <pid>` writes the report (default stderr)
 */
import * as fs from 'node:fs';
import { createProbe, type Probe } from './probe/probe';

function fromEnvironment(env: NodeJS.ProcessEnv): Probe {
  const interval = Number(env.SOCKPROBE_INTERVAL_MS ?? 1000);
  const probe = createProbe({
    intervalMs: Number.isInteger(interval) && interval > 0 ? interval : 1000,
    autoRelease: env.SOCKPROBE_AUTO_RELEASE === '1' || env.SOCKPROBE_AUTO_RELEASE === 'true',
    opensslTracking: env.SOCKPROBE_OPENSSL === '1' || env.SOCKPROBE_OPENSSL === 'true',
  });
  const target = env.SOCKPROBE_REPORT ?? 'stderr';
  process.on('SIGUSR2', () => {
    const text = `${probe.renderReport()}\n`;
    if (target === 'stderr') process.stderr.write(text);
    else fs.writeFile(target, text, () => undefined);
  });
  return probe.start();
}

/** The probe this module started. */
export const probe: Probe = fromEnvironment(process.env);
