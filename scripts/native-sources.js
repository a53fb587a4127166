// Prints the addon's per-concern sources for binding.gyp, so adding a file under native/
// needs no edit there. Off Linux only addon.cc builds, and capabilities() says why.
const fs = require('node:fs');
const path = require('node:path');
if (process.platform === 'linux') {
  const root = path.join(__dirname, '..', 'native');
  const files = fs
    .readdirSync(root, { recursive: true })
    .filter((file) => file.includes(path.sep) && file.endsWith('.cc'))
    .map((file) => 'native/' + file.split(path.sep).join('/'))
    .sort();
  console.log(files.join('\n'));
}
