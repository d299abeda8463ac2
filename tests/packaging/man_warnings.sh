#!/bin/bash
# Each man page renders without a warning, as lintian's check does:
#   tests/packaging/man_warnings.sh PAGE...
. "$(dirname "$0")/../system/cases.sh"
command -v man >/dev/null || { echo "man (man-db) is not installed"; exit 77; }
for page in "$@"; do
    name=$(basename "$page")
    case $page in */zh_CN/*) name="zh_CN/$name" ;; esac
    err=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$page" 2>&1 >/dev/null)
    rc=$?
    if [ $rc -eq 0 ] && [ -z "$err" ]; then
        case_pass "$name renders without warnings"
    else
        case_fail "$name renders without warnings" "man exited $rc"
        printf '%s\n' "$err" | sed 's/^/        /'
    fi
done
cases_summary
