#!/usr/bin/env python3
"""Runs scdoc on a man page whose text is Chinese and makes its roff breakable.

groff (1.22 on bookworm) breaks lines only at spaces, so a Chinese paragraph, which has none,
overflows the line and "man --warnings" (lintian's check) reports "can't break line". Each
CJK character gets a zero-width break point after it (\\:) and the page is set ragged-right
(.ad l): a justified line of Chinese has no spaces to stretch ("cannot adjust line").

    cjk_breaks.py SCDOC INPUT.scd OUTPUT
"""
import re
import subprocess
import sys

# CJK punctuation, kana, ideographs, full-width forms.
CJK = re.compile(r"([\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef])")


def main(scdoc, source, output):
    with open(source, "rb") as f:
        roff = subprocess.run([scdoc], stdin=f, check=True, capture_output=True).stdout
    lines = roff.decode("utf-8").split("\n")
    out = []
    for line in lines:
        # Requests and macros (.SH, .TH, .ad) keep their arguments as they are.
        out.append(line if line.startswith((".", "'")) else CJK.sub(r"\1\\:", line))
        if line.startswith(".TH "):
            out.append(".ad l")
    with open(output, "w", encoding="utf-8") as f:
        f.write("\n".join(out))


if __name__ == "__main__":
    main(*sys.argv[1:])
