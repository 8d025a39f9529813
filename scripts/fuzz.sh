#!/usr/bin/env bash
# Runs every libFuzzer target for SECONDS each (default 20), two at a time,
# starting from the seed corpora in tests/fuzz/corpus/ (copied: the repo's
# seeds are not modified). A crash, sanitizer report or failed property makes
# this exit non-zero and leaves the reproducer in build-fuzz/findings/.
# Longer runs for people: scripts/fuzz.sh 3600
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-20}"
dir=build-fuzz
if [ ! -f "$dir/build.ninja" ]; then
  CC=clang CXX=clang++ cmake -S . -B "$dir" -G Ninja -DHOPEFLOW_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$dir"
mkdir -p "$dir/findings"
targets=(jwt client_message filter_match publish_body publish_scan ws_frames js_json cluster_wire jwks cluster_reply recovery_merge store_reply http_request)
run() {
  local t=$1 work="$dir/corpus-$1"
  mkdir -p "$work"
  cp -n tests/fuzz/corpus/"$t"/* "$work"/ 2>/dev/null || true
  if "$dir/fuzz_$t" "$work" -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$dir/findings/$t-" -print_final_stats=1 >"$dir/fuzz-$t.log" 2>&1; then
    echo "fuzz $t: ok ($(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$dir/fuzz-$t.log" | grep -o '[0-9]*$') runs in ${seconds}s)"
  else
    echo "fuzz $t: FAILED, see $dir/fuzz-$t.log"; tail -30 "$dir/fuzz-$t.log"; return 1
  fi
}
failed=0
for ((i = 0; i < ${#targets[@]}; i += 2)); do
  run "${targets[i]}" & a=$!
  b=""
  if ((i + 1 < ${#targets[@]})); then run "${targets[i + 1]}" & b=$!; fi
  wait $a || failed=1
  [ -z "$b" ] || wait $b || failed=1
done
total=${#targets[@]}
if ((failed)); then echo "fuzz: 0 passed, 1 failed"; exit 1; fi
echo "fuzz: $total passed, 0 failed"
