#!/bin/bash
# Each Chinese man page documents what its English page documents: the same options (entry
# lines such as "*-m*, *--message* _TEXT_"), configuration keys ("*listen* = _ADDR_") and
# exit statuses ("*130*"). Fails on anything an English page has and its Chinese page lacks,
# or the other way round.
#   tests/i18n/man_pages.sh EN.scd ZH.scd [EN.scd ZH.scd...]
. "$(dirname "$0")/../system/cases.sh"

entries() { # PAGE: what it documents, one per line: -m, --message, key listen, exit status 2
    {
        grep '^\*-' "$1" | grep -oE '\*-{1,2}[A-Za-z0-9][a-z0-9-]*\*' | tr -d '*'
        sed -n 's/^\*\([a-z0-9-]*\)\* = .*/key \1/p' "$1"
        sed -n 's/^\*\([0-9]\{1,3\}\)\*$/exit status \1/p' "$1"
    } | sort -u
}

same_entries() { # EN ZH
    local en zh missing extra
    en=$(entries "$1")
    zh=$(entries "$2")
    [ -n "$en" ] || { echo "nothing documented found in $1"; return 1; }
    missing=$(comm -23 <(echo "$en") <(echo "$zh"))
    extra=$(comm -13 <(echo "$en") <(echo "$zh"))
    [ -z "$missing" ] || echo "in $(basename "$1") but not in its Chinese page:" $missing
    [ -z "$extra" ] || echo "in the Chinese $(basename "$2") but not in the English page:" $extra
    echo "$(echo "$en" | wc -l) entries"
    [ -z "$missing$extra" ]
}

while [ $# -ge 2 ]; do
    check "zh_CN/$(basename "$2" .scd) documents every option, key and exit status of $(basename "$1" .scd)" \
        same_entries "$1" "$2"
    shift 2
done
cases_summary
