#!/usr/bin/env bash
# Prepares what the Java GPU tests need on a GPU machine that has no Java and no network: a jlinked
# runtime (build/jre) and the JUnit console launcher (build/junit), next to the built classes. The
# library itself is built on the GPU machine (the bundled copy is left out: with it the tree passes
# the 64 MiB such a machine takes). Then, on the GPU machine, from the repository root:
#   cmake -S . -B /tmp/g -DCMAKE_BUILD_TYPE=Release -DATTN4J_BUILD_BENCHMARKS=OFF && cmake --build /tmp/g -j
#   build/jre/bin/java --enable-native-access=ALL-UNNAMED -Dattn4j.library.path=/tmp/g/lib/libattn4j.so \
#     -jar build/junit/junit-platform-console-standalone-*.jar \
#     execute -cp java/target/classes:java/target/test-classes:bindings/target/classes \
#     --select-class org.attn4j.CudaFlashAttentionTest
source "$(dirname "$0")/env.sh"
cd "$ATTN4J_ROOT"
"$ATTN4J_ROOT/ci/build.sh"
mvn -q -B -Dattn4j.skipNative=true -pl bindings,java test-compile
rm -f java/target/classes/native/linux-x86_64/libattn4j.so
rm -rf build/jre
# The smallest runtime the JUnit console runs on: the lent machine takes at most 64 MiB with the tree.
"$JAVA_HOME/bin/jlink" --add-modules java.base,java.logging,jdk.unsupported \
  --strip-debug --no-man-pages --no-header-files --compress=zip-9 --output build/jre
mvn -q -B dependency:copy -Dartifact=org.junit.platform:junit-platform-console-standalone:1.14.1 -DoutputDirectory=build/junit
echo "ready: build/jre ($(du -sh build/jre | cut -f1)), build/junit, java/target, bindings/target"
