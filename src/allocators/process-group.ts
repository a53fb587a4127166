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
