#!/usr/bin/env bash
# The test command: builds, runs the native suite (ctest, which also writes the cross-language
# parity vectors), then the Java suite (JUnit 5 via surefire, which reads them), then the example
# project built against the installed artifact, then the native suite again under ASan+UBSan and TSan (ci/sanitize.sh), then a short fuzzing run of every C entry
# point (ci/fuzz.sh) and of the Java API's argument checks (ci/fuzz_java.sh).
source "$(dirname "$0")/env.sh"
cd "$ATTN4J_ROOT"
"$ATTN4J_ROOT/ci/build.sh"
echo "== native tests (ctest)"
if ! (cd build && ctest --output-on-failure --parallel "$(nproc 2>/dev/null || echo 2)") >build/ctest.log 2>&1; then
  tail -n 100 build/ctest.log
  exit 1
fi
grep -E "tests passed|tests failed|Total Test time" build/ctest.log
echo "skipped (GPU tests without a CUDA device): $(grep -c '(Skipped)' build/ctest.log || true)"
echo "== Java tests (JUnit 5)"
mvn -B -Dstyle.color=never -Dattn4j.skipNative=true -Dattn4j.parity.required=true verify 2>&1 \
  | grep -E 'Tests run:|FAIL|ERROR|BUILD|README example|Reactor Summary|SUCCESS' | grep -v '^\[INFO\] Download'
echo "== example project (a user's build against the installed org.attn4j:attn4j)"
mvn -B -Dstyle.color=never -f java/examples/pom.xml verify 2>&1 \
  | grep -E 'Tests run:|FAIL|ERROR|BUILD|^flash|^sale|^lightning' | grep -v '^\[INFO\] Download'
echo "== example on the module path (native access granted to attn4j's modules alone)"
example=$(java --module-path "java/target/attn4j-0.2.0-SNAPSHOT.jar:bindings/target/attn4j-bindings-0.2.0-SNAPSHOT.jar" \
  --add-modules org.attn4j --enable-native-access=org.attn4j,org.attn4j.bindings -cp java/examples/target/classes \
  example.ThreeKernels 2>&1)
echo "$example"
if ! grep -q '^lightning' <<<"$example" || grep -q 'WARNING' <<<"$example"; then
  echo "attn4j: the example failed or warned on the module path" >&2
  exit 1
fi
"$ATTN4J_ROOT/ci/sanitize.sh"
echo "== fuzzing: every C entry point (libFuzzer, ASan+UBSan) and the Java argument checks (Jazzer), 60 s each"
"$ATTN4J_ROOT/ci/fuzz.sh" 60
