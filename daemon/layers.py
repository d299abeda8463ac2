#!/usr/bin/env python3
"""Fails the build when the transport layer includes what is above it.

    layers.py STAMP FILE...

FILEs are the transport library's sources and headers (daemon/meson.build). Each may include
the standard and system headers, common/, and the other FILEs: not an application header (a
service, the server, the log, the options), nor fmt, CLI11 or libsystemd. On success, STAMP is
written. docs/ARCHITECTURE.md draws the layers.
"""
import os
import re
import sys

FORBIDDEN_SYSTEM = ('fmt/', 'CLI/', 'systemd/')
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def main(argv):
    stamp, files = argv[1], argv[2:]
    own = {os.path.basename(f) for f in files}
    wrong = []
    for path in files:
        with open(path, encoding='utf-8') as f:
            for number, line in enumerate(f, 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                kind, name = m.groups()
                if kind == '<':
                    ok = not name.startswith(FORBIDDEN_SYSTEM)
                else:
                    ok = name.startswith('common/') or name in own
                if not ok:
                    wrong.append(f'{path}:{number}: the transport layer includes {name}')
    if wrong:
        print('\n'.join(wrong), file=sys.stderr)
        print('transport files include only common/, the transport\'s own headers and the '
              'system\'s (docs/ARCHITECTURE.md)', file=sys.stderr)
        return 1
    with open(stamp, 'w', encoding='utf-8') as f:
        f.write('ok\n')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
