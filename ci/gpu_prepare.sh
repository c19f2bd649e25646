#!/usr/bin/env bash
# Prepares what the Java GPU tests need on a GPU machine that has no Java and no network: a jlinked
# runtime (build/jre) and the JUnit console launcher (build/junit), next to the built classes.
# Then, on the GPU machine, from the repository root:
#   build/jre/bin/java --enable-native-access=ALL-UNNAMED -jar build/junit/junit-platform-console-standalone-*.jar \
#     execute -cp java/target/classes:java/target/test-classes:bindings/target/classes \
#     --select-class org.attn4j.CudaFlashAttentionTest
source "$(dirname "$0")/env.sh"
cd "$ATTN4J_ROOT"
"$ATTN4J_ROOT/ci/build.sh"
mvn -q -B -Dattn4j.skipNative=true -pl bindings,java test-compile
strip --strip-unneeded java/target/classes/native/linux-x86_64/libattn4j.so
rm -rf build/jre
# The smallest runtime the JUnit console runs on: the lent machine takes at most 64 MiB with the tree.
"$JAVA_HOME/bin/jlink" --add-modules java.base,java.logging,jdk.unsupported \
  --strip-debug --no-man-pages --no-header-files --compress=zip-9 --output build/jre
mvn -q -B dependency:copy -Dartifact=org.junit.platform:junit-platform-console-standalone:1.14.1 -DoutputDirectory=build/junit
echo "ready: build/jre ($(du -sh build/jre | cut -f1)), build/junit, java/target, bindings/target"
