#!/usr/bin/env python3
"""Runs scdoc on a man page whose text is Chinese and makes its roff read as Chinese.

groff (1.22 on bookworm) breaks lines only at spaces, and turns each line break of the source
into a space. Chinese has no spaces: a paragraph overflows the line ("man --warnings", as
lintian runs it, says "can't break line"), and a line break of the source shows as a stray
space. So, outside preformatted blocks:
- a text line that ends in Chinese is joined to the next one when that starts in Chinese,
  or when it ends in a full-width punctuation mark (which has its own space);
- each Chinese character gets a zero-width break point after it (\\:), except an opening
  bracket or quote, and except before a closing punctuation mark, which never starts a line;
- the page is set ragged-right (.ad l, and the string AD that groff 1.23's man macros apply
  at every paragraph): a justified line of Chinese has no spaces to stretch ("cannot
  adjust line").
The NAME section is left as it is: mandb and lexgrog read it as the page's whatis line.

    cjk_breaks.py SCDOC INPUT.scd OUTPUT
"""
import re
import subprocess
import sys

CJK = "\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef\u201c\u201d\u2018\u2019"
OPENING = "（「『《“‘〈【"
CLOSING = "，。、；：！？）」』》”’〉】"
BREAK_AFTER = re.compile(f"([{CJK}])(?=[^{CLOSING}])")


def is_text(line):
    return not line.startswith((".", "'"))


def breakable(line):
    return BREAK_AFTER.sub(lambda m: m.group(1) if m.group(1) in OPENING else m.group(1) + "\\:",
                           line)


def main(scdoc, source, output):
    with open(source, "rb") as f:
        roff = subprocess.run([scdoc], stdin=f, check=True, capture_output=True).stdout
    out = []
    preformatted = False
    for line in roff.decode("utf-8").split("\n"):
        if line.startswith(".nf"):
            preformatted = True
        elif line.startswith(".fi"):
            preformatted = False
        elif (not preformatted and is_text(line) and line and out and is_text(out[-1])
              and out[-1] and re.match(f"[{CJK}]", out[-1][-1])
              and (re.match(f"[{CJK}]", line[0]) or out[-1][-1] in CLOSING + OPENING)):
            out[-1] += line
            continue
        out.append(line)
        if line.startswith(".TH "):
            # groff 1.23's man macros set the adjustment again from the string AD at every
            # paragraph: .ad alone holds only until the next one.
            out.append(".ds AD l")
            out.append(".ad l")
    lines = []
    preformatted = False
    name_section = False
    for line in out:
        if line.startswith(".nf"):
            preformatted = True
        elif line.startswith(".fi"):
            preformatted = False
        elif line.startswith(".SH"):
            name_section = line.split(None, 1)[1:] in (["NAME"], ["名称"])
        keep = preformatted or name_section or not is_text(line)
        lines.append(line if keep else breakable(line))
    with open(output, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    main(*sys.argv[1:])
