# Sourced by the ci/ scripts: installs what is missing (quietly when all is present) and exports
# JAVA_HOME pointing at a JDK >= 25 (JAVA_HOME if it qualifies, else the newest under /usr/lib/jvm).
set -euo pipefail
ATTN4J_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export ATTN4J_ROOT

attn4j_need_packages() {
  local missing=()
  command -v cmake >/dev/null || missing+=(cmake)
  command -v g++ >/dev/null || missing+=(g++)
  command -v mvn >/dev/null || missing+=(maven)
  [ -f /usr/include/gtest/gtest.h ] || missing+=(libgtest-dev)
  [ -f /usr/include/benchmark/benchmark.h ] || missing+=(libbenchmark-dev)
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null; then
      echo "attn4j: missing packages: ${missing[*]} (install them, or run as root)" >&2
      exit 1
    fi
    local SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO=sudo
    echo "attn4j: installing ${missing[*]}" >&2
    $SUDO apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

attn4j_java_major() {
  "$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p' | head -n1
}

attn4j_find_jdk() {
  local candidates=()
  [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME")
  for d in $(ls -d /usr/lib/jvm/*/ 2>/dev/null | sort -rV); do candidates+=("${d%/}"); done
  for d in "${candidates[@]}"; do
    if [ -x "$d/bin/javac" ]; then
      local major
      major=$(attn4j_java_major "$d")
      if [ -n "$major" ] && [ "$major" -ge 25 ] 2>/dev/null; then
        export JAVA_HOME="$d"
        export PATH="$JAVA_HOME/bin:$PATH"
        return 0
      fi
    fi
  done
  echo "attn4j: no JDK >= 25 found (looked at JAVA_HOME and /usr/lib/jvm/*). Install one, e.g. Temurin 25, and set JAVA_HOME." >&2
  exit 1
}

attn4j_need_packages
attn4j_find_jdk
export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"

# Maven 3.8 writes colour reset codes even in batch mode with colours off; this strips them (the
# pipeline fails when mvn does: pipefail is set above).
attn4j_mvn() {
  mvn -B -Dstyle.color=never "$@" 2>&1 | sed -u $'s/\033\\[[0-9;]*m//g'
}
