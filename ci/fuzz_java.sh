#!/usr/bin/env bash
# Coverage-guided fuzzing of the Java API's argument checks (Jazzer, ArgumentFuzzTest) for the given
# seconds (default 60), after the Java modules are built (ci/build.sh). A finding fails the run and
# leaves its input under java/src/test/resources/org/attn4j/ArgumentFuzzTestInputs/, replayed by every
# later run of the suite.
# usage: ci/fuzz_java.sh [seconds]
source "$(dirname "$0")/env.sh"
cd "$ATTN4J_ROOT"
seconds=${1:-60}
echo "== Java argument fuzzing (Jazzer, ${seconds} s)"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! JAZZER_FUZZ=1 mvn -B -Dstyle.color=never -Dattn4j.skipNative=true -pl java surefire:test -Dtest=ArgumentFuzzTest \
     -Djazzer.max_duration="${seconds}s" >"$log" 2>&1; then
  grep -v '^\[INFO\] Download' "$log" | tail -n 80 >&2
  echo "attn4j: the Java argument fuzzer found a problem" >&2
  exit 1
fi
runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log")
echo "ArgumentFuzzTest: ${runs:-?} executions in ${seconds}s, no finding"
