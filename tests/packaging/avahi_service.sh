#!/bin/bash
# The Avahi service file the package ships: well-formed XML that avahi-daemon reads, one
# service of type _pisock._tcp on pisockd's default port, named after the host.
#   tests/packaging/avahi_service.sh PISOCKD.SERVICE
. "$(dirname "$0")/../system/cases.sh"
file=$1

parse() { # prints "TYPE PORT NAME" of the file's only service
    /usr/bin/python3 - "$file" <<'PY'
import sys
import xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == 'service-group', root.tag
services = root.findall('service')
assert len(services) == 1, len(services)
name = root.find('name')
assert name is not None and name.get('replace-wildcards') == 'yes', 'name'
print(services[0].findtext('type'), services[0].findtext('port'), name.text)
PY
}
check "the file is well-formed and holds one service" parse
read -r type port name < <(parse 2>/dev/null)
check "it advertises _pisock._tcp" test "$type" = _pisock._tcp
check "on pisockd's default port, 8888" test "$port" = 8888
check "named after the host (%h)" test "$name" = "pisockd on %h"
cases_summary
