#!/bin/sh
# The C and C++ sources formatted as .clang-format says. Lists the files itself (no git: it
# works in a tree without .git, a source tarball), and is what the meson targets
# clang-format and clang-format-check run.
#   tests/lint/clang_format.sh [--fix] SOURCE_ROOT
#   --fix  rewrite the files in place; without it, list what differs and fail
set -u
fix=0
[ "${1:-}" = --fix ] && { fix=1; shift; }
cd "${1:?usage: clang_format.sh [--fix] SOURCE_ROOT}" || exit 1
files=$(find bench client common daemon tests -type f \( -name '*.c' -o -name '*.cpp' -o -name '*.h' \) | sort)
if [ $fix -eq 1 ]; then
    # shellcheck disable=SC2086 # one word per file; no file name has a space
    exec clang-format -i $files
fi
bad=""
for f in $files; do
    clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || bad="$bad $f"
done
[ -z "$bad" ] && exit 0
echo "not formatted as .clang-format says (ninja -C build clang-format fixes them):"
printf '  %s\n' $bad
exit 1
