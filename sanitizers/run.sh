#!/usr/bin/env bash
# Runs the native-facing fixtures against an addon built with AddressSanitizer (asan) or
# under valgrind memcheck (valgrind), and fails on any report whose stack reaches sockprobe's
# own code. The addon is built in a scratch copy so build/ is left alone.
#   sanitizers/run.sh asan | valgrind
set -euo pipefail
mode=${1:?usage: sanitizers/run.sh asan|valgrind}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/sockprobe-$mode-XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT

npm run --prefix "$root" build:ts --silent
cp -r "$root/native" "$root/binding.gyp" "$root/package.json" "$root/scripts" "$root/dist" "$root/test" "$work/"
ln -s "$root/node_modules" "$work/node_modules"
cd "$work"
if [ "$mode" = asan ]; then
  CXXFLAGS="-fsanitize=address -fno-omit-frame-pointer -g -DSOCKPROBE_SANITIZER_BUILD" LDFLAGS="-fsanitize=address" npx node-gyp rebuild --silent >/dev/null
  # A build that is not instrumented would pass silently: check the checks are compiled in.
  symbols=$(nm -D build/Release/sockprobe.node)
  grep -q __asan_report_load <<< "$symbols" || { echo "the addon is not instrumented"; exit 1; }
else
  CXXFLAGS="-g -DSOCKPROBE_SANITIZER_BUILD" npx node-gyp rebuild --silent >/dev/null
fi

# Fixtures that drive every native call: detection and stats, bad input, glibc references,
# threads and teardown, fuzzing, a TLS spike with a release, socket snapshots (idle TLS,
# CLOSE_WAIT), OpenSSL tracking (API, connections, start/stop churn, worker threads), the
# native heap profiler (API, start/stop churn with workers, a lazily bound addon, two copies
# of sockprobe), hooks installed by a worker thread that exits.
# Node flags come first in an entry. Sizes are small: valgrind is slow.
fixtures=("allocator-probe.js" "bad-input.js" "glibc-reference.js" "lifecycle-workers.js" "fuzz.js 3000"
  "release-spike.js 200" "seed-scenarios.js idle" "seed-scenarios.js close-wait" "openssl-api.js"
  "--expose-gc openssl-connections.js server 20" "--expose-gc openssl-churn.js 50" "openssl-workers.js"
  "--expose-gc native-heap-api.js" "--expose-gc native-heap-safety.js 100" "native-heap-lazy-object.js"
  "native-heap-categories.js" "native-heap-second-copy.js" "unload-worker-hooks.js openssl" "unload-worker-hooks.js nativeHeap")

failed=0
for entry in "${fixtures[@]}"; do
  read -r -a all <<< "$entry"
  flags=()
  while [ "${all[0]}" != "${all[0]#--}" ]; do flags+=("${all[0]}"); all=("${all[@]:1}"); done
  words=("${all[@]}")
  log="$work/${words[0]}-${#words[@]}-${words[1]:-}.log"
  if [ "$mode" = asan ]; then
    # Node and V8 keep memory until exit on purpose; leaks are reported only when a frame is ours.
    LD_PRELOAD="$(gcc -print-file-name=libasan.so)" ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:exitcode=0" \
      LSAN_OPTIONS="suppressions=$root/sanitizers/lsan.supp:print_suppressions=0" \
      node "${flags[@]}" "test/fixtures/${words[0]}" "${words[@]:1}" >"$log.out" 2>"$log" || true
    ours=$(grep -E 'ERROR: AddressSanitizer|sockprobe\.node|native/(common|heap|malloc|net|openssl|v8)/' "$log" | head -5 || true)
    reports=$(grep -cE '^(==[0-9]+==ERROR|Direct leak|Indirect leak)' "$log" || true)
  else
    valgrind --tool=memcheck --error-limit=no --num-callers=30 --smc-check=all-non-file \
      --suppressions="$root/sanitizers/valgrind.supp" \
      node "${flags[@]}" "test/fixtures/${words[0]}" "${words[@]:1}" >"$log.out" 2>"$log" || true
    ours=$(awk '/^==[0-9]+== [A-Z].*(Invalid|uninitialised|Mismatched|definitely lost)/{block=1; text=""} block{text=text"\n"$0} /^==[0-9]+== $/{if (block && text ~ /sockprobe\.node|native\/(common|malloc|net|openssl|v8)\//) print text; block=0}' "$log" | head -40 || true)
    reports=$(grep -oE 'ERROR SUMMARY: [0-9]+' "$log" | grep -oE '[0-9]+' || echo '?')
  fi
  if [ -n "$ours" ]; then
    echo "FAIL ${words[0]}: a $mode report reaches sockprobe.node"; echo "$ours"; failed=1
  elif ! tail -n 1 "$log.out" | grep -q '^[\[{]'; then
    echo "FAIL ${words[0]}: no result line"; tail -n 20 "$log"; failed=1
  else
    echo "ok   ${words[0]}: no $mode report in sockprobe's code ($reports reports elsewhere: Node/V8 internals)"
  fi
done
exit $failed
