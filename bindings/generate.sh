#!/usr/bin/env bash
# Regenerates the Java bindings in bindings/src/main/java/org/attn4j/bindings from
# native/include/attn4j.h with jextract ($JEXTRACT, else the one on PATH), keeping only the
# header's own declarations (no libc symbols), and records the header's SHA-256 so a build
# with a changed header and stale bindings fails.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
header="$root/native/include/attn4j.h"
out="$here/src/main/java"
pkg=org.attn4j.bindings

jextract=${JEXTRACT:-$(command -v jextract || true)}
if [ -z "$jextract" ] || [ ! -x "$jextract" ]; then
  echo "generate.sh: jextract not found; set JEXTRACT=/path/to/jextract or put it on PATH" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Ask jextract for every symbol it would emit, then keep those declared in attn4j.h itself.
"$jextract" --dump-includes "$work/all.txt" "$header" >/dev/null
grep -E '#.*attn4j\.h' "$work/all.txt" | sed 's/[[:space:]]*#.*$//' > "$work/includes.txt"

rm -rf "$out/${pkg//.//}"
"$jextract" @"$work/includes.txt" --output "$out" --target-package "$pkg" --header-class-name Attn4jNative "$header"
(cd "$root" && sha256sum native/include/attn4j.h) > "$here/attn4j.h.sha256"
echo "generated $(find "$out/${pkg//.//}" -name '*.java' | wc -l) files into $out/${pkg//.//}"
