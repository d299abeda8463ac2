#!/bin/bash
# clang-tidy (the repository's .clang-tidy, warnings are errors) over the code that ships:
# common/, daemon/, client/, bench/ (C++; bench/uv_echo.c is written the way libuv examples are).
# First checks that every family .clang-tidy asks for is on:
# a missing comma in .clang-tidy silently drops checks.
#   tests/lint/clang_tidy.sh SOURCE_ROOT BUILD_ROOT
. "$(dirname "$0")/../system/cases.sh"
src=$1 build=$2
cd "$src" || exit 1
command -v run-clang-tidy >/dev/null ||
    { echo "SKIPPED-CASES: 2: run-clang-tidy is not installed (package clang-tidy)"; exit 0; }

families() {
    local on family missing=""
    on=$(clang-tidy --list-checks -p "$build" common/buffer.cpp 2>/dev/null)
    for family in bugprone- clang-analyzer- misc- modernize- performance- readability-function-size readability-identifier-naming; do
        grep -q "^ *$family" <<<"$on" || missing="$missing $family"
    done
    [ -z "$missing" ] || { echo "not enabled by .clang-tidy:$missing"; return 1; }
}

tidy() {
    local out
    # run-clang-tidy matches this against each file's normalised absolute path.
    out=$(run-clang-tidy -p "$build" -j "$(nproc)" -quiet "^$(pwd -P)/(common|daemon|client|bench)/.*\\.cpp$" 2>&1)
    if grep -qE '(warning|error): ' <<<"$out"; then
        grep -E '(warning|error): ' <<<"$out" | sed 's/\x1b\[[0-9;]*m//g' | sort -u | head -40
        return 1
    fi
}

check "clang-tidy enables every family it should" families
check "clang-tidy finds nothing in common/, daemon/, client/, bench/" tidy
cases_summary
