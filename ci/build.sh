#!/usr/bin/env bash
# Builds everything once: the native library, tests and benchmarks (CMake, build/), then the Java
# modules (Maven: bindings, attn4j with the library inside its jar, JMH) installed to ~/.m2.
source "$(dirname "$0")/env.sh"
cd "$ATTN4J_ROOT"
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
if ! cmake --build build --parallel "$jobs" >build/build.log 2>&1; then
  cat build/build.log >&2
  echo "attn4j: native build failed (log above, also in build/build.log)" >&2
  exit 1
fi
attn4j_mvn -q -DskipTests -Dattn4j.skipNative=true install
