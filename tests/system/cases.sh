# tests/system/cases.sh: counting test cases in shell tests, the way scripts/test-summary
# reads them (a Catch2-style "test cases:" line, and "SKIPPED-CASES: N: why" per skip).
#
#   case_pass NAME / case_fail NAME [WHY] / case_skip NAME WHY [N: cases, default 1]
#   check NAME CMD...     run CMD: pass if it succeeds; its output is shown either way
#   cases_summary         print the counts; false if any case failed

CASES_PASSED=0
CASES_FAILED=0
CASES_SKIPPED=0
CASES_SKIP_LINES="" # "SKIPPED-CASES: N: NAME: WHY" for each case_skip, for the summary

case_pass() {
    CASES_PASSED=$((CASES_PASSED + 1))
    echo "ok      $1"
}

case_fail() {
    CASES_FAILED=$((CASES_FAILED + 1))
    echo "FAILED  $1${2:+: $2}"
}

case_skip() {
    local n=${3:-1}
    CASES_SKIPPED=$((CASES_SKIPPED + n))
    echo "skipped $1: $2"
    CASES_SKIP_LINES="${CASES_SKIP_LINES}SKIPPED-CASES: $n: $1: $2
"
}

check() { # NAME CMD...: CMD's output follows the verdict, indented
    local name=$1 out
    shift
    if out=$("$@" 2>&1); then
        case_pass "$name"
    else
        case_fail "$name"
    fi
    [ -z "$out" ] || printf '%s\n' "$out" | sed 's/^ *//; s/^/        /'
}

cases_summary() {
    echo "test cases: $((CASES_PASSED + CASES_FAILED)) | $CASES_PASSED passed | $CASES_FAILED failed"
    printf '%s' "$CASES_SKIP_LINES"
    [ "$CASES_FAILED" -eq 0 ]
}
