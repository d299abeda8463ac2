#!/bin/bash
# A user's release build of the shipped programs: -O3, tests off, with this machine's
# compiler, and -Werror so that any warning fails it. The packages build at -O2, and
# scripts/test builds at -O2 with -Werror; at -O3 GCC inlines more and warns differently
# (GCC 12 and GCC 14 each had a false positive only there). packages_test.sh runs it for each
# suite: GCC 12 in bookworm, GCC 14 in trixie (in its build container).
# Prints the compiler and the number of build steps; on a failure, the first diagnostics.
set -u
[ $# -eq 2 ] || { echo "usage: $0 SOURCE_DIR BUILD_DIR" >&2; exit 2; }
src=$1 build=$2
rm -rf "$build" "$build.log"
c++ --version | head -n 1
if ! meson setup "$build" "$src" --buildtype=release -Dwerror=true -Dtests=disabled -Db_colorout=never \
    >"$build.log" 2>&1 || ! ninja -C "$build" >>"$build.log" 2>&1; then
    grep -m 5 -A 12 -E 'warning:|error:|^FAILED' "$build.log" || tail -n 30 "$build.log"
    exit 1
fi
echo "$(grep -c '^\[' "$build.log") build steps at -O3, no warning"
