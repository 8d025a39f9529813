#!/usr/bin/env bash
# `make test` and `make ci`: every pass in turn, each bounded in time so that a hung test
# fails its own pass (with its name) instead of the whole run. Prints how
# long each pass took and a summary; exits non-zero if any pass failed.
# The bounds are generous (several times a normal run on 2 cores): they
# catch hangs, they are not performance checks.
set -uo pipefail
cd "$(dirname "$0")/.."
# `quick` (make test): what a developer runs before every commit, about 6
# minutes after a build. `ci` (make ci, .ci/run): everything.
case "${1:-quick}" in
  quick) passes=(unit:600 e2e:600 e2e-cluster:600 clients:600 python:300 chaos-short:600) ;;
  ci) passes=(unit:600 e2e:600 e2e-cluster:600 e2e-rediscluster:600 clients:600 python:300 chaos:900 fuzz:900
              asan:1500 tsan:1500 package:900) ;;
  *) echo "usage: scripts/test.sh [quick|ci]" >&2; exit 2 ;;
esac
[ -n "${TEST_PASSES:-}" ] && read -r -a passes <<<"$TEST_PASSES"
summary=()
failed=0
start=$SECONDS
for entry in "${passes[@]}"; do
  name=${entry%%:*} limit=${entry#*:}
  [ "$limit" = "$name" ] && limit=900
  echo "=== make $name (bounded to ${limit}s) ==="
  t0=$SECONDS
  timeout --kill-after=30 "$limit" make --no-print-directory "$name"
  rc=$?
  took=$((SECONDS - t0))
  if ((rc == 0)); then
    summary+=("ok      $name ${took}s")
  elif ((rc == 124 || rc == 137)); then
    summary+=("TIMEOUT $name after ${took}s"); failed=1
  else
    summary+=("FAILED  $name (exit $rc) after ${took}s"); failed=1
  fi
  echo "=== make $name: exit $rc in ${took}s ==="
done
echo "=== scripts/test.sh ${1:-quick}: $((SECONDS - start))s in all ==="
printf '  %s\n' "${summary[@]}"
ok=0
for line in "${summary[@]}"; do [[ $line == ok* ]] && ok=$((ok + 1)); done
echo "passes: $ok passed, $((${#summary[@]} - ok)) failed"
exit $failed
