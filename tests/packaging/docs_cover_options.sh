#!/bin/bash
# The documentation follows the daemon: every option "pisockd --help" lists is described in
# pisockd(8), and every configuration key in pisockd.conf(5) and in the shipped conffile
# (with its default); nothing documented is unknown to pisockd; the conffile is valid as
# shipped and with every default uncommented.
#   tests/packaging/docs_cover_options.sh PISOCKD CONFFILE PISOCKD.8.SCD PISOCKD.CONF.5.SCD
. "$(dirname "$0")/../system/cases.sh"
pisockd=$1 conf=$2 man8=$3 man5=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

options=$("$pisockd" --help | sed -n 's/^ *\(-[a-zA-Z], *\)\{0,1\}--\([a-z0-9-]*\).*/\2/p')
[ -n "$options" ] || { case_fail "pisockd --help lists options"; cases_summary; exit 1; }
# Command line only: --port is a short form of --listen (the file has "listen = PORT").
keys=$(echo "$options" | grep -vx 'help\|version\|check\|config\|stats\|json\|port')

missing() { # WHAT FILE PATTERN-TEMPLATE NAMES...: names whose pattern is not in FILE
    local file=$1 template=$2 n out=""
    shift 2
    for n in "$@"; do
        grep -q "${template//KEY/$n}" "$file" || out="$out $n"
    done
    [ -z "$out" ] || { echo "not described:$out"; return 1; }
}
# shellcheck disable=SC2086 # one word per option
check "every option is in pisockd(8)" missing "$man8" '^\(\*-[a-zA-Z]\*, \)\{0,1\}\*--KEY\*' $options
# shellcheck disable=SC2086
check "every key is in pisockd.conf(5)" missing "$man5" '^\*KEY\* = ' $keys
# shellcheck disable=SC2086
check "every key is in the conffile with its default" missing "$conf" '^#\{0,1\}KEY = .' $keys

unknown() { # FILE SED-EXPRESSION: documented names pisockd does not know
    local out="" n
    for n in $(sed -n "$2" "$1"); do
        echo "$options" | grep -qx -- "$n" || out="$out $n"
    done
    [ -z "$out" ] || { echo "documented but unknown to pisockd:$out"; return 1; }
}
check "pisockd(8) documents no unknown option" unknown "$man8" 's/^\*-\{1,2\}[a-z]*\*, \*--\([a-z0-9-]*\)\*.*/\1/p; s/^\*--\([a-z0-9-]*\)\*.*/\1/p'
check "pisockd.conf(5) documents no unknown key" unknown "$man5" 's/^\*\([a-z0-9-]*\)\* = .*/\1/p'

check "the conffile is valid as shipped" \
    "$pisockd" --config "$conf" --check --listen 127.0.0.1:0
# Every "#key = default" line uncommented, except the allow/deny block (its example deny
# would refuse nobody useful, and the allow lines are already active).
sed -e '/^# BEGIN allow\/deny/,/^# END allow\/deny/d' -e 's/^#\([a-z-]* = \)/\1/' "$conf" >"$tmp/defaults.conf"
check "the conffile's documented defaults are valid values" \
    "$pisockd" --config "$tmp/defaults.conf" --check --listen 127.0.0.1:0
cases_summary
