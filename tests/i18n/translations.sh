#!/bin/bash
# pisock's translations cover its messages: every message the sources mark (tr(), trf() in
# the files of po/POTFILES, which must list every client source that marks one) has a
# translation in each po/LANG.po that is neither missing nor fuzzy, no translation is left
# over from a message that is gone, each keeps the {placeholders} of its message, and
# msgfmt --check accepts the file.
#   tests/i18n/translations.sh SOURCE_ROOT
. "$(dirname "$0")/../system/cases.sh"
src=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for tool in xgettext msgfmt msgen; do
    command -v $tool >/dev/null ||
        { echo "$tool is not installed (package gettext)"; exit 77; }
done

listed() { # every client source that marks a message is in po/POTFILES
    local f out=""
    for f in $(cd "$src" && grep -lE '\btrf?\("' client/*.cpp); do
        grep -qx "$f" "$src/po/POTFILES" || out="$out $f"
    done
    [ -z "$out" ] || { echo "not in po/POTFILES:$out"; return 1; }
}
check "po/POTFILES lists every source with a translated message" listed

# The template, made as po/meson.build makes it (its xgettext arguments).
args=$(sed -n "/^xgettext_args/,/\]/p" "$src/po/meson.build" | grep -oE "'--[^']*'" | tr -d "'")
# shellcheck disable=SC2086 # one word per argument
(cd "$src" && xgettext $args --package-name=pisock -f po/POTFILES -o "$tmp/pisock.pot") ||
    { case_fail "xgettext reads the sources"; cases_summary; exit 1; }
sed -i 's/charset=CHARSET/charset=UTF-8/' "$tmp/pisock.pot"
msgen -o "$tmp/en.po" "$tmp/pisock.pot" && msgfmt -o "$tmp/en.mo" "$tmp/en.po" ||
    { case_fail "the template compiles"; cases_summary; exit 1; }
echo "$(($(grep -c '^msgid ' "$tmp/pisock.pot") - 1)) messages in the sources"

compare() { # LANG.po: against the template, through the compiled catalogs
    local po=$1 lang
    lang=$(basename "$po" .po)
    msgfmt -o "$tmp/$lang.mo" "$po" || return 1
    python3 - "$tmp/en.mo" "$tmp/$lang.mo" <<'PY'
import gettext, re, sys
def catalog(path):
    with open(path, "rb") as f:
        return {k: v for k, v in gettext.GNUTranslations(f)._catalog.items() if k}
want, have = catalog(sys.argv[1]), catalog(sys.argv[2])
field = re.compile(r"\{[a-z_]*(?::[^}]*)?\}")
bad = False
for msgid in sorted(set(want) - set(have)):
    print(f"untranslated or fuzzy: {msgid!r}")
    bad = True
for msgid in sorted(set(have) - set(want)):
    print(f"no longer in the sources: {msgid!r}")
    bad = True
for msgid in sorted(set(want) & set(have)):
    if sorted(field.findall(msgid)) != sorted(field.findall(have[msgid])):
        print(f"placeholders differ: {msgid!r} -> {have[msgid]!r}")
        bad = True
sys.exit(1 if bad else 0)
PY
}

for po in "$src"/po/*.po; do
    lang=$(basename "$po" .po)
    grep -qx "$lang" "$src/po/LINGUAS" || { case_fail "po/$lang.po is in po/LINGUAS"; continue; }
    check "po/$lang.po: msgfmt --check accepts it" msgfmt --check --statistics -o /dev/null "$po"
    check "po/$lang.po translates every message of the sources, and only those" compare "$po"
done
cases_summary
