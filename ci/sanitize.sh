#!/usr/bin/env bash
# The native suite under AddressSanitizer + UndefinedBehaviorSanitizer, then the threaded tests under
# ThreadSanitizer (separate build trees: build-asan, build-tsan). Any report fails the run.
source "$(dirname "$0")/env.sh"
cd "$ATTN4J_ROOT"
jobs=$(nproc 2>/dev/null || echo 2)

run_tree() {  # dir sanitizers ctest-regex
  local dir=$1 san=$2 filter=$3
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DATTN4J_SANITIZE="$san" -DATTN4J_BUILD_BENCHMARKS=OFF >/dev/null
  if ! cmake --build "$dir" --parallel "$jobs" >"$dir.log" 2>&1; then
    cat "$dir.log" >&2
    echo "attn4j: $san build failed" >&2
    exit 1
  fi
  if ! (cd "$dir" && ctest --output-on-failure --parallel "$jobs" ${filter:+-R "$filter"}) >"$dir/ctest.log" 2>&1; then
    tail -n 100 "$dir/ctest.log"
    exit 1
  fi
  grep -E "tests passed|tests failed|Total Test time" "$dir/ctest.log"
}

echo "== native tests under address,undefined sanitizers"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run_tree build-asan address,undefined ""
echo "== threaded native tests under the thread sanitizer"
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
  run_tree build-tsan thread "ThreadPool|FlashForward|LightningForward|LightningState"
