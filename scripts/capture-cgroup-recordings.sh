#!/usr/bin/env bash
# Records a real cgroup v1 memory group for the unit tier (a development tool, not a test; root,
# on a host with the v1 memory controller, such as the dev machine). Makes a child group under
# this shell's own memory group, limits it to 512 MiB, runs node inside holding 64 MiB of
# Buffers and a written file, and records the group's files with `head` (one file, sections
# `==> name <==`), then the own (unlimited) group the same way. Removes the group it made.
#   bash scripts/capture-cgroup-recordings.sh     # into test/unit/recorded/
set -euo pipefail
out="$(cd "$(dirname "$0")/.." && pwd)/test/unit/recorded"
own="/sys/fs/cgroup/memory$(awk -F: '$2=="memory"{print $3}' /proc/self/cgroup)"
group="$own/sockprobe-capture-$$"
files=(memory.limit_in_bytes memory.usage_in_bytes memory.stat memory.kmem.usage_in_bytes memory.failcnt memory.oom_control cgroup.procs)
mkdir "$group"
# rmdir fails while a process is still leaving the group: retried briefly.
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; for _ in 1 2 3 4 5 6 7 8 9 10; do rmdir "$group" 2>/dev/null && break; sleep 0.2; done' EXIT
echo $((512 << 20)) > "$group/memory.limit_in_bytes"
tmp=$(mktemp -d)
# The child writes its own /proc files once it holds its memory, then waits to be killed.
bash -c 'echo $$ > "$1/cgroup.procs"; exec node -e "
  const fs = require(\"fs\"); const held = [];
  for (let i = 0; i < 64; i++) held.push(Buffer.alloc(1 << 20, i));
  fs.writeFileSync(process.argv[1] + \"/data\", Buffer.alloc(8 << 20, 1));
  fs.writeFileSync(process.argv[1] + \"/proc-cgroup\", fs.readFileSync(\"/proc/self/cgroup\"));
  fs.writeFileSync(process.argv[1] + \"/mountinfo\", fs.readFileSync(\"/proc/self/mountinfo\"));
  fs.writeFileSync(process.argv[1] + \"/ready\", \"\"); setInterval(() => held.length, 1000);
" "$2"' capture "$group" "$tmp" &
pid=$!
for _ in $(seq 100); do [ -e "$tmp/ready" ] && break; sleep 0.1; done
{ echo "# cgroup v1 memory group captured $(date -u +%FT%TZ) on Linux $(uname -r) by scripts/capture-cgroup-recordings.sh:"
  echo "# a child group limited to 512 MiB, node inside holding 64 MiB of Buffers and an 8 MiB file it wrote."
  cd "$group" && head -n 1000 "${files[@]}"
  echo; echo "==> /proc/self/cgroup <=="; cat "$tmp/proc-cgroup"
  echo; echo "==> /proc/self/mountinfo <=="; cat "$tmp/mountinfo"; } > "$out/cgroup-v1-limited.txt"
{ echo "# cgroup v1 memory group captured $(date -u +%FT%TZ) on Linux $(uname -r) by scripts/capture-cgroup-recordings.sh:"
  echo "# the capturing shell's own group, with no limit set on it or any ancestor."
  cd "$own" && head -n 1000 "${files[@]}"
  echo; echo "==> /proc/self/cgroup <=="; cat /proc/self/cgroup
  echo; echo "==> /proc/self/mountinfo <=="; cat /proc/self/mountinfo; } > "$out/cgroup-v1-unlimited.txt"
rm -rf "$tmp"
echo "recorded $out/cgroup-v1-limited.txt and cgroup-v1-unlimited.txt"
