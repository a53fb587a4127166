import { setTimeout as sleep } from 'node:timers/promises';
import { groupAlive } from './proc-outside';

/** SIGTERM to the whole group, SIGKILL after 3 s; resolves once no process of the group is left (at most ~5 s). */
export async function stopGroup(pgid: number): Promise<void> {
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(-pgid, s);
    } catch {
      /* already gone */
    }
  };
  signal('SIGTERM');
  for (let waited = 0; waited < 3000 && groupAlive(pgid); waited += 50) await sleep(50);
  if (!groupAlive(pgid)) return;
  signal('SIGKILL');
  for (let waited = 0; waited < 2000 && groupAlive(pgid); waited += 50) await sleep(50);
}

const running = new Set<number>();
let cleanupInstalled = false;

/** Keeps a started group to stop if the CLI itself is interrupted (Ctrl-C, SIGTERM): a detached group outlives its parent otherwise. */
export function trackGroup(pgid: number): void {
  running.add(pgid);
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      for (const group of running) {
        try {
          process.kill(-group, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
      process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
    });
  }
}

export function untrackGroup(pgid: number): void {
  running.delete(pgid);
}
