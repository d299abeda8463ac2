#!/bin/bash
# The units as built: what the service must have, and systemd's own offline hardening
# review rating it at most 2.0 (the booted-container test checks the same online).
#   tests/packaging/unit_hardening.sh PISOCKD.SERVICE PISOCKD.SOCKET PISOCKD@.SERVICE
. "$(dirname "$0")/../system/cases.sh"
service=$1 socket=$2 template=$3

has() { # FILE LINE...: every LINE is in FILE
    local file=$1 l
    shift
    for l in "$@"; do grep -qxF -- "$l" "$file" || { echo "missing: $l"; return 1; }; done
}
check "pisockd.service: notify, reload, watchdog, restart, unprivileged" has "$service" \
    Type=notify 'ExecReload=/bin/kill -HUP $MAINPID' WatchdogSec=30s Restart=on-failure \
    DynamicUser=yes WantedBy=multi-user.target
# Paths follow meson's prefix: /usr/sbin and /etc in the package, /usr/local in a dev build.
# MemoryHigh=/MemoryMax= above the default --memory-limit (64M) plus the idle daemon and
# the kernel's socket buffers (pisockd.conf(5), memory-limit).
check "pisockd.service: memory limits that agree with --memory-limit 64M" has "$service" \
    MemoryHigh=96M MemoryMax=128M
check "pisockd.service: ExecStart reads the conffile" \
    grep -qxE 'ExecStart=/.*/sbin/pisockd --config /.*/pisockd/pisockd.conf' "$service"
check "pisockd.socket: port 8888 for sockets.target" has "$socket" \
    ListenStream=8888 WantedBy=sockets.target

# Instances share the port (one dynamic user: SO_REUSEPORT wants one), each with its own
# control socket, never next to pisockd.service or pisockd.socket (they hold the port alone).
check "pisockd@.service: notify, reuse-port, one user, own control socket" has "$template" \
    Type=notify DynamicUser=yes User=pisockd RuntimeDirectory=pisockd/%i \
    'Conflicts=pisockd.service pisockd.socket' WantedBy=multi-user.target
check "pisockd@.service: ExecStart shares the port and names the instance's control socket" \
    grep -qxE 'ExecStart=/.*/sbin/pisockd --config /.*/pisockd/pisockd.conf --reuse-port yes --control-socket /run/pisockd/%i/control.sock' "$template"
check "pisockd@.service: the hardening of pisockd.service, line for line" \
    bash -c 'diff <(sed -n "/^CapabilityBoundingSet=/,/^SystemCallErrorNumber=/p" "$1") \
                  <(sed -n "/^CapabilityBoundingSet=/,/^SystemCallErrorNumber=/p" "$2" | grep -v "^#")' \
    _ "$template" "$service"

for unit in "$service" "$template"; do
    name=$(basename "$unit")
    if ! command -v systemd-analyze >/dev/null; then
        case_skip "$name: offline exposure <= 2.0" "no systemd-analyze here"
        continue
    fi
    out=$(systemd-analyze security --offline=yes --threshold=20 "$unit" 2>&1)
    rc=$?
    score=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
    echo "systemd-analyze security --offline=yes $name: ${score:-no score}"
    if [ $rc -eq 0 ] && [ -n "$score" ]; then
        case_pass "$name: offline exposure $score <= 2.0"
    else
        case_fail "$name: offline exposure ${score:-?} <= 2.0"
        printf '%s\n' "$out" | grep '✗' | sed 's/^/        /'
    fi
done
cases_summary
