// One trial in a fresh process: N TLS connections opened and closed, then releaseToOS().
const { runSpike } = require('../dist/cjs/experiments/spike');

const [connections, mode] = [Number(process.argv[2]), process.argv[3]];
const release = mode === 'trim-only' ? { shrinkHeap: false } : {};
runSpike({ connections, release }).then(
  (result) => console.log(JSON.stringify(result)),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
