#!/bin/bash
# The repository stands alone: every relative link of its Markdown files reaches a file of
# the repository, and every Markdown document a file names (in a comment, a doc, a script)
# is one of its own: none points at a document that is not there.
#   tests/lint/references.sh SOURCE_ROOT
. "$(dirname "$0")/../system/cases.sh"
cd "$1" || exit 1

files() { # the repository's text, without build outputs
    find . \( -path ./.git -o -path './build*' -o -path ./dist -o -path ./tests/fuzz/corpus \) -prune -o \
        -type f \( -name '*.md' -o -name '*.h' -o -name '*.cpp' -o -name '*.c' -o -name '*.sh' \
        -o -name '*.py' -o -name '*.scd' -o -name '*.build' -o -name '*.txt' -o -name '*.in' \
        -o -name '*.conf' -o -path './scripts/*' -o -path './.ci/*' -o -path './packaging/*' \) -print
}

links() { # every relative link target of the Markdown files resolves
    local md target out=""
    while IFS= read -r md; do
        while IFS= read -r target; do
            target=${target%%#*}
            [ -z "$target" ] && continue
            [ -e "$(dirname "$md")/$target" ] || out="$out $md:$target"
        done < <(grep -oE '\]\([^)]+\)' "$md" | sed 's/^](//; s/)$//' | grep -vE '^[a-z]+:')
    done < <(files | grep '\.md$')
    [ -z "$out" ] || { echo "links to nothing:$out"; return 1; }
}

documents() { # every Markdown file named anywhere is a file of the repository
    local name out=""
    for name in $(files | xargs grep -ohE '\b[A-Z][A-Za-z_-]*(\.[a-z_A-Z]+)?\.md\b' | sort -u); do
        [ -e "$name" ] || [ -e "docs/$name" ] || out="$out $name"
    done
    [ -z "$out" ] || { echo "named but not in the repository:$out"; return 1; }
}

check "every relative link in the Markdown files reaches a file of the repository" links
check "every Markdown document named anywhere is in the repository" documents
cases_summary
