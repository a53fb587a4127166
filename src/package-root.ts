import * as fs from 'node:fs';
import * as path from 'node:path';

/** sockprobe's own folder (holding binding.gyp), whether running from dist/cjs or from src. */
export const packageRoot: string = (() => {
  let dir = __dirname;
  for (let i = 0; i < 4; i++) {
    if (fs.existsSync(path.join(dir, 'binding.gyp'))) return dir;
    dir = path.dirname(dir);
  }
  return path.join(__dirname, '..', '..');
})();
