#!/usr/bin/env bash
# Fuzzes every C entry point with libFuzzer under ASan+UBSan (build tree build-fuzz, clang 14), then the
# Java API's argument checks with Jazzer (ci/fuzz_java.sh; needs the Java modules built by ci/build.sh).
# usage: ci/fuzz.sh [seconds per harness, default 60]
# Prints each harness's executions; any crash, leak, sanitizer report or timeout fails the run and
# leaves the reproducer in build-fuzz/crash-*.
source "$(dirname "$0")/env.sh"
cd "$ATTN4J_ROOT"
seconds=${1:-60}
if ! command -v clang++-14 >/dev/null; then
  echo "attn4j: installing clang-14 for the fuzzers" >&2
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang-14 >/dev/null
fi
cmake -S . -B build-fuzz -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DATTN4J_FUZZ=ON -DATTN4J_SANITIZE=address,undefined -DATTN4J_BUILD_TESTS=OFF -DATTN4J_BUILD_BENCHMARKS=OFF >/dev/null
if ! cmake --build build-fuzz --parallel "$(nproc 2>/dev/null || echo 2)" >build-fuzz.log 2>&1; then
  cat build-fuzz.log >&2
  echo "attn4j: fuzz build failed" >&2
  exit 1
fi
for h in fuzz_flash_forward fuzz_lightning_forward fuzz_sale_forward; do
  mkdir -p "build-fuzz/corpus/$h"
  # Inputs that once found a bug are always replayed first.
  cp native/fuzz/regressions/* "build-fuzz/corpus/$h/" 2>/dev/null || true
  (cd build-fuzz && ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
     "./native/fuzz/$h" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 -print_final_stats=1 \
     "corpus/$h" >"$h.log" 2>&1) || { tail -n 60 "build-fuzz/$h.log" >&2; echo "attn4j: $h found a problem" >&2; exit 1; }
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "build-fuzz/$h.log")
  echo "$h: $runs executions in ${seconds}s, corpus $(ls "build-fuzz/corpus/$h" | wc -l) inputs, no crash"
done
"$ATTN4J_ROOT/ci/fuzz_java.sh" "$seconds"
