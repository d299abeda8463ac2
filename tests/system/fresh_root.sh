#!/bin/bash
# scripts/run or scripts/test as on a new machine: debootstraps a minbase Debian SUITE
# (default bookworm) into a temporary directory, copies this tree into it without .git (as
# a source tarball would be) and runs the script there in systemd-nspawn, as root, with the
# host's network. Not part of the test suites (minutes, and a download); the README's quick
# start figures come from it.
#   tests/system/fresh_root.sh run [SUITE]    time from nothing to pisockd's first log line
#   tests/system/fresh_root.sh test [SUITE]   scripts/test, its summary and exit status
# PISOCK_FRESH_ROOT=DIR keeps the root in DIR (reused if there) instead of a temporary one.
# PISOCK_TEST_SUITES and PISOCK_FUZZ_SECONDS are passed on to scripts/test.
set -u
repo=$(cd "$(dirname "$0")/../.." && pwd)
. "$repo/scripts/lib/container.sh"
what=${1:-run}
suite=${2:-bookworm}
case $what in run | test) ;; *) sed -n '2,13s/^# \{0,1\}//p' "$0" >&2 && exit 2 ;; esac
if why=$(container_unavailable); then
    echo "fresh_root: $why" >&2
    exit 1
fi

root=${PISOCK_FRESH_ROOT:-}
if [ -z "$root" ]; then
    root=$(mktemp -d /var/tmp/pisock-fresh.XXXXXX)
    trap 'rm -rf "$root"' EXIT
fi
if [ ! -x "$root/bin/sh" ]; then
    t0=$SECONDS
    debootstrap --variant=minbase "$suite" "$root" "$(_container_mirror)" >"$root.debootstrap.log" 2>&1 ||
        { tail -n 5 "$root.debootstrap.log" >&2; exit 1; }
    echo "fresh_root: debootstrap --variant=minbase $suite: $((SECONDS - t0)) s"
fi
rm -rf "$root/src"
mkdir -p "$root/src"
tar -C "$repo" --exclude=./.git --exclude='./build*' --exclude=./dist -cf - . | tar -C "$root/src" -xf -
echo "fresh_root: $(du -sh "$root" | cut -f1) root; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"

inside() { # CMD...: in the root, at /src
    systemd-nspawn -q -D "$root" --register=no --keep-unit --pipe --chdir=/src \
        env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        HOME=/root DEBIAN_FRONTEND=noninteractive \
        ${PISOCK_TEST_SUITES:+PISOCK_TEST_SUITES="$PISOCK_TEST_SUITES"} \
        ${PISOCK_FUZZ_SECONDS:+PISOCK_FUZZ_SECONDS="$PISOCK_FUZZ_SECONDS"} "$@"
}

if [ "$what" = test ]; then
    t0=$SECONDS
    inside scripts/test 2>&1 | tail -n 40
    rc=${PIPESTATUS[0]}
    echo "fresh_root: scripts/test exited $rc after $((SECONDS - t0)) s"
    exit "$rc"
fi

# scripts/run in the background; its first log line ("listening on") ends the measure.
inside bash -c '
    start=$(date +%s.%N)
    scripts/run --listen 127.0.0.1:0 >/tmp/run.log 2>&1 &
    pid=$!
    while kill -0 $pid 2>/dev/null && ! grep -q "listening on" /tmp/run.log; do sleep 0.2; done
    end=$(date +%s.%N)
    grep -E "^pisockd: installing|^\[[0-9]+/[0-9]+\]|info    listening on" /tmp/run.log | tail -n 4
    grep -q "listening on" /tmp/run.log || { tail -n 30 /tmp/run.log; exit 1; }
    kill -TERM $pid; wait $pid
    echo "fresh_root: scripts/run: first log line after $(echo "$end - $start" | bc 2>/dev/null ||
        awk -v a="$start" -v b="$end" "BEGIN { printf \"%.0f\", b - a }") s"
'
