#!/bin/bash
# The packages, for real. For each suite (bookworm and trixie, amd64): build pisockd and
# pisock with scripts/build-deb (trixie inside a trixie container) and lintian, build them
# at -O3 with the suite's compiler (release_build.sh), boot a real systemd in a container of
# that suite, install them and check what an admin sees: the
# service enabled and running unprivileged, a reply through loopback, the journal, reload,
# the hardening score, the watchdog, stop, socket activation, remove and purge, and an
# install while port 8888 is taken (pigpiod). With armhf in PISOCK_TEST_ARCHES, also the
# armhf packages, under qemu-user (packages_armhf.sh).
#
# Environment: PISOCK_TEST_SUITES (default "bookworm trixie"); PISOCK_TEST_ARCHES (default
# "amd64"; "amd64 armhf" adds armhf, about 10 min per suite: not in scripts/test);
# PISOCK_TEST_OUT (where the packages go; default build/packages); PISOCK_CACHE (container
# roots, kept between runs).
# Where no container can be booted, every case is reported skipped with the reason.
set -u
repo=$(cd "$(dirname "$0")/../.." && pwd)
. "$repo/tests/system/cases.sh"
. "$repo/scripts/lib/container.sh"
. "$repo/tests/packaging/packages_armhf.sh"
out=${PISOCK_TEST_OUT:-$repo/build/packages}
suites=${PISOCK_TEST_SUITES:-bookworm trixie}
arches=${PISOCK_TEST_ARCHES:-amd64}
kCasesPerSuite=23 # every case below, for reporting skips
trap poweroff_container EXIT
trap 'exit 1' INT TERM

step() { echo "== $* ($((SECONDS - suite_t0)) s)"; }

skip_suite() { # SUITE WHY [CASES]
    case_skip "${3:-$kCasesPerSuite} cases of $1" "$2" "${3:-$kCasesPerSuite}"
}

# --- talking to the daemon inside the container ------------------------------------------

# Prints what the server answers to "hello" on the container's loopback: with pisock when it
# is the real client, else with bash's /dev/tcp (until the client lands, issue 3).
say_hello() {
    local reply rc
    reply=$(container_exec timeout 10 pisock -m hello 2>&1)
    rc=$?
    if [ $rc -eq 69 ] && [[ $reply == *"not built yet"* ]]; then
        echo "        (pisock is still the placeholder: asking with bash /dev/tcp)" >&2
        reply=$(container_exec timeout 10 bash -c \
            'exec 3<>/dev/tcp/127.0.0.1/8888 && printf "hello\n" >&3 && IFS= read -r l <&3 && printf "%s\n" "$l"')
        rc=$?
    fi
    printf '%s\n' "$reply"
    return $rc
}

check_hello() {
    local reply
    reply=$(say_hello) && [ "$reply" = "server rec: hello" ] ||
        { echo "got: '$reply'"; return 1; }
}

journal_json() { # UNIT
    container_exec journalctl -u "$1" -o json --no-pager -q
}

# Waits until the journal of UNIT has an entry matching the python expression EXPR over
# e (fields) and m (MESSAGE); prints that entry's MESSAGE, PRIORITY and PISOCKD_PEER.
journal_wait() { # UNIT EXPR [SECONDS]
    local deadline=$((SECONDS + ${3:-10})) found
    while :; do
        found=$(journal_json "$1" | python3 -c '
import json, re, sys
for line in sys.stdin:
    e = json.loads(line)
    m = e.get("MESSAGE")
    m = bytes(m).decode(errors="replace") if isinstance(m, list) else (m or "")
    if '"$2"':
        print(m, "| PRIORITY=" + e.get("PRIORITY", "?"), "| PISOCKD_PEER=" + e.get("PISOCKD_PEER", "-"))
        break')
        [ -n "$found" ] && { echo "$found"; return 0; }
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.2
    done
}

unit_prop() { container_exec systemctl show -p "$2" --value "$1"; }

wait_state() { # UNIT STATE SECONDS
    local deadline=$((SECONDS + $3)) state
    while state=$(container_exec systemctl is-active "$1"); [ "$state" != "$2" ]; do
        [ $SECONDS -lt $deadline ] || { echo "$1 is $state, not $2"; return 1; }
        sleep 0.2
    done
}

# --- the cases ----------------------------------------------------------------------------

check_enabled_active() {
    wait_state pisockd.service active 10 || return 1
    [ "$(container_exec systemctl is-enabled pisockd.service)" = enabled ] ||
        { echo "pisockd.service is not enabled"; return 1; }
    local socket
    socket=$(container_exec systemctl is-enabled pisockd.socket)
    [ "$socket" = disabled ] || { echo "pisockd.socket is '$socket', not disabled"; return 1; }
}

check_unprivileged() {
    local pid status
    pid=$(unit_prop pisockd.service MainPID)
    status=$(container_exec cat "/proc/$pid/status") || return 1
    printf '%s\n' "$status" | grep -Eq '^Uid:[[:space:]]+[1-9]' || { echo "runs as root"; return 1; }
    printf '%s\n' "$status" | grep -Eq '^CapEff:[[:space:]]+0+$' || { echo "has capabilities"; return 1; }
    printf '%s\n' "$status" | grep -Eq '^NoNewPrivs:[[:space:]]+1' || { echo "may gain privileges"; return 1; }
    echo "        uid $(container_exec stat -c %u "/proc/$pid") (dynamic), no capabilities, no new privileges"
}

check_journal_connect() {
    local line
    line=$(journal_wait pisockd.service '"connected on" in m and e.get("PRIORITY") == "6"') ||
        { echo "no 'connected on' line at priority 6 (info)"; return 1; }
    echo "        $line"
    journal_wait pisockd.service '"connected on" in m and e.get("PISOCKD_PEER") and e.get("PISOCKD_CONN") and e.get("SYSLOG_IDENTIFIER") == "pisockd"' 2 >/dev/null ||
        { echo "the connect line lacks PISOCKD_PEER, PISOCKD_CONN or SYSLOG_IDENTIFIER=pisockd"; return 1; }
}

# systemctl status shows pisockd's STATUS= line (sd_notify), kept current: after the hello
# above, at least one client served.
check_status_line() {
    local deadline=$((SECONDS + 5)) text
    while text=$(unit_prop pisockd.service StatusText); ! [[ $text =~ clients\ now,\ [1-9][0-9]*\ served ]]; do
        [ $SECONDS -lt $deadline ] || { echo "StatusText='$text'"; return 1; }
        sleep 0.2
    done
    echo "        StatusText=$text"
    container_exec systemctl status pisockd --no-pager -n 0 | grep -q "Status: \"$text\"" ||
        { echo "systemctl status does not show it"; return 1; }
}

# Under pisockd.socket the daemon names the socket it was given (LISTEN_FDNAMES) in the
# journal, and reports being ready only then.
check_socket_named() {
    journal_wait pisockd.service '"listening on" in m and "(socket pisockd.socket)" in m and e.get("PRIORITY") == "6"' 5 ||
        { echo "no 'listening on ... (socket pisockd.socket)' line"; return 1; }
}

# One connection open across "systemctl reload": it keeps working and sees the new prefix.
check_reload() {
    local got
    got=$(container_exec timeout 30 bash -c '
        count() { journalctl -u pisockd -o cat -q | grep -c "configuration reloaded"; }
        exec 3<>/dev/tcp/127.0.0.1/8888 || exit 1
        printf "before\n" >&3 && IFS= read -r -t 5 a <&3 || exit 2
        pid=$(systemctl show -p MainPID --value pisockd)
        n=$(count)
        cp /etc/pisockd/pisockd.conf /root/conf.orig
        sed -i "s/^#reply-prefix = .*/reply-prefix = \"reloaded: \"/" /etc/pisockd/pisockd.conf
        systemctl reload pisockd || exit 3
        while [ "$(count)" = "$n" ]; do sleep 0.1; done  # the caller bounds the wait
        printf "after\n" >&3 && IFS= read -r -t 5 b <&3 || exit 4
        [ "$(systemctl show -p MainPID --value pisockd)" = "$pid" ] || exit 5
        printf "%s|%s\n" "$a" "$b"')
    local rc=$?
    # Back to the file as shipped (an unmodified conffile), applied the same way.
    container_exec sh -c 'mv /root/conf.orig /etc/pisockd/pisockd.conf &&
        systemctl reload pisockd'
    [ "$got" = "server rec: before|reloaded: after" ] || { echo "got '$got' (exit $rc)"; return 1; }
}

check_security() {
    local online offline unitfile
    unitfile=$(unit_prop pisockd.service FragmentPath)
    online=$(container_exec systemd-analyze security --threshold=20 pisockd.service 2>&1)
    local rc1=$?
    offline=$(container_exec systemd-analyze security --offline=yes --threshold=20 "$unitfile" 2>&1)
    local rc2=$?
    score_online=$(printf '%s\n' "$online" | sed -n 's/.*Overall exposure level.*: \([0-9.]*\).*/\1/p')
    score_offline=$(printf '%s\n' "$offline" | sed -n 's/.*Overall exposure level.*: \([0-9.]*\).*/\1/p')
    echo "        systemd-analyze security: $score_online; --offline=yes $unitfile: $score_offline"
    [ $rc1 -eq 0 ] && [ $rc2 -eq 0 ] && [ -n "$score_online" ] && [ -n "$score_offline" ] ||
        { printf '%s\n' "$online" | grep '✗'; return 1; }
}

check_verify() {
    container_exec systemd-analyze verify --man=no pisockd.service pisockd.socket pisockd@1.service
}

# systemd records each WATCHDOG=1 it receives: with a 2 s watchdog, a ping every second.
check_watchdog() {
    container_exec sh -c 'mkdir -p /run/systemd/system/pisockd.service.d &&
        printf "[Service]\nWatchdogSec=2s\n" >/run/systemd/system/pisockd.service.d/watchdog.conf &&
        systemctl daemon-reload && systemctl restart pisockd' || return 1
    local first deadline=$((SECONDS + 6)) rc=1
    first=$(unit_prop pisockd.service WatchdogTimestampMonotonic)
    while [ $SECONDS -lt $deadline ]; do
        [ "$(unit_prop pisockd.service WatchdogTimestampMonotonic)" != "$first" ] && { rc=0; break; }
        sleep 0.2
    done
    [ $rc -eq 0 ] || echo "no WATCHDOG=1 within 6 s of a 2 s watchdog"
    container_exec sh -c 'rm -r /run/systemd/system/pisockd.service.d &&
        systemctl daemon-reload && systemctl restart pisockd' || return 1
    return $rc
}

# The live stats of the packaged service, from its control socket under /run/pisockd: root
# reads them, another user is refused.
check_stats() {
    local text mode uid rc
    check_hello >/dev/null || { echo "no reply to hello"; return 1; } # one client served since the restart above
    text=$(container_exec pisockd --stats) || { echo "pisockd --stats failed: $text"; return 1; }
    [[ $text == *"mode: reply, line framing"* && $text =~ totals:\ [1-9][0-9]*\ served ]] ||
        { echo "got: $text"; return 1; }
    # Mode 0660, owned by the service's (dynamic) user.
    mode=$(container_exec stat -c '%a %u' /run/pisockd/control.sock)
    uid=$(container_exec stat -c %u "/proc/$(unit_prop pisockd.service MainPID)")
    [ "$mode" = "660 $uid" ] || { echo "control socket is '$mode', not '660 $uid'"; return 1; }
    container_exec setpriv --reuid=65534 --regid=65534 --clear-groups pisockd --stats >/dev/null 2>&1
    rc=$?
    [ $rc -eq 77 ] || { echo "another user's pisockd --stats exited $rc, not 77"; return 1; }
    echo "        $(printf '%s\n' "$text" | sed -n 2,4p | paste -sd';')"
}

# Two instances of pisockd@.service share port 8888 (reuse-port): both serve, each answers
# pisockd --stats on its own control socket. Enabled, so that purge must remove their links.
check_instances() {
    container_exec systemctl enable --now pisockd@1.service pisockd@2.service >/dev/null 2>&1 ||
        return 1
    wait_state pisockd@1.service active 10 && wait_state pisockd@2.service active 10 || return 1
    local i a b served='s/.*"served":\([0-9]*\).*/\1/p'
    for i in $(seq 40); do
        check_hello >/dev/null || { echo "hello $i: no reply"; return 1; }
    done
    a=$(container_exec pisockd --stats --json --control-socket /run/pisockd/1/control.sock | sed -n "$served")
    b=$(container_exec pisockd --stats --json --control-socket /run/pisockd/2/control.sock | sed -n "$served")
    echo "        of 40 clients, pisockd@1 served ${a:-?}, pisockd@2 ${b:-?}"
    [ "${a:-0}" -gt 0 ] && [ "${b:-0}" -gt 0 ] && [ $((a + b)) -eq 40 ]
}

# The instances still run (check_instances): an upgrade (the same package again) restarts
# them, as debhelper restarts pisockd.service; pisockd.service is disabled, as the README's
# recipe has it, so that it does not start and stop them (Conflicts=). Then they stop.
check_instances_upgrade() {
    local before after
    container_exec systemctl disable pisockd.service >/dev/null 2>&1 || return 1
    before="$(unit_prop pisockd@1.service MainPID) $(unit_prop pisockd@2.service MainPID)"
    container_exec sh -c 'dpkg -i /debs/pisockd_*.deb' >"$logdir/upgrade.log" 2>&1 ||
        { tail "$logdir/upgrade.log"; return 1; }
    wait_state pisockd@1.service active 10 && wait_state pisockd@2.service active 10 || return 1
    after="$(unit_prop pisockd@1.service MainPID) $(unit_prop pisockd@2.service MainPID)"
    echo "        main PIDs before the upgrade: $before; after: $after"
    check_hello >/dev/null || { echo "no reply after the upgrade"; return 1; }
    container_exec systemctl stop pisockd@1.service pisockd@2.service
    container_exec systemctl enable pisockd.service >/dev/null 2>&1
    [ "${before% *}" != "${after% *}" ] && [ "${before#* }" != "${after#* }" ]
}

check_stop() {
    container_exec systemctl stop pisockd.service || return 1
    local result status state
    result=$(unit_prop pisockd.service Result)
    status=$(unit_prop pisockd.service ExecMainStatus)
    state=$(unit_prop pisockd.service ActiveState)
    [ "$result" = success ] && [ "$status" = 0 ] && [ "$state" = inactive ] ||
        { echo "Result=$result ExecMainStatus=$status ActiveState=$state"; return 1; }
    journal_wait pisockd.service '"stopped after serving" in m' 5 >/dev/null ||
        { echo "no 'stopped after serving' line"; return 1; }
    ! container_exec pgrep -x pisockd >/dev/null || { echo "a pisockd process is left"; return 1; }
}

check_socket_activation() {
    container_exec sh -c 'systemctl disable --now pisockd.service &&
        systemctl enable --now pisockd.socket' >/dev/null 2>&1 || return 1
    [ "$(container_exec systemctl is-active pisockd.service)" = inactive ] ||
        { echo "pisockd.service runs before any client came"; return 1; }
    check_hello || return 1
    wait_state pisockd.service active 5
}

check_remove() {
    container_exec apt-get remove -y -q pisockd pisock >"$logdir/remove.log" 2>&1 ||
        { tail "$logdir/remove.log"; return 1; }
    local s
    for s in pisockd.service pisockd.socket; do
        [ "$(container_exec systemctl is-active "$s")" != active ] || { echo "$s still active"; return 1; }
    done
    ! container_exec pgrep -x pisockd >/dev/null || { echo "a pisockd process is left"; return 1; }
    ! container_exec bash -c ': </dev/tcp/127.0.0.1/8888' 2>/dev/null || { echo "port 8888 still open"; return 1; }
    container_exec test -f /etc/pisockd/pisockd.conf || { echo "remove deleted the conffile"; return 1; }
    container_exec test -f /etc/avahi/services/pisockd.service ||
        { echo "remove deleted the Avahi service file"; return 1; }
    ! container_exec test -e /usr/sbin/pisockd || { echo "/usr/sbin/pisockd is left"; return 1; }
}

# After a purge no file, directory or symlink named after the packages is left anywhere.
check_purged() {
    container_exec apt-get purge -y -q pisockd pisock >"$logdir/purge.log" 2>&1 ||
        { tail "$logdir/purge.log"; return 1; }
    local left
    left=$(container_exec find / -xdev \( -path /debs -o -path /proc -o -path /sys \
        -o -path /var/log/journal \) -prune -o -name '*pisock*' -print)
    [ -z "$left" ] || { echo "left behind:"; printf '%s\n' "$left"; return 1; }
    [ "$(container_exec dpkg-query -W -f='${db:Status-Status}' pisockd 2>/dev/null)" != installed ] ||
        { echo "pisockd is still installed"; return 1; }
}

hold_port() {
    # pigpiod's stand-in: IPv4 0.0.0.0:8888, so pisockd's dual-stack [::]:8888 cannot bind.
    container_exec systemd-run -q --unit=pigpiod-standin perl -MSocket -e '
        socket(my $s, PF_INET, SOCK_STREAM, 0) or die "socket: $!";
        setsockopt($s, SOL_SOCKET, SO_REUSEADDR, 1);
        bind($s, pack_sockaddr_in(8888, INADDR_ANY)) or die "bind: $!";
        listen($s, 5) or die "listen: $!";
        sleep;' || return 1
    container_wait 10 bash -c ': </dev/tcp/127.0.0.1/8888'
}

check_install_port_taken() {
    hold_port || { echo "could not hold port 8888"; return 1; }
    install_debs || return 1
    wait_state pisockd.service failed 15 || return 1
    [ "$(container_exec systemctl is-enabled pisockd.service)" = enabled ] ||
        { echo "not enabled"; return 1; }
    local line
    line=$(journal_wait pisockd.service 're.search(r"cannot bind (\[::\]|0\.0\.0\.0):8888: Address already in use", m) and e.get("PRIORITY") == "3"') ||
        { echo "the journal does not say 'cannot bind [::]:8888: Address already in use' at error"
            container_exec journalctl -u pisockd -o cat -q --no-pager | tail -n 5; return 1; }
    echo "        $line"
    echo "        $(container_exec systemctl status pisockd --no-pager -n 0 | grep -m1 'Active:')"
}

check_restart_after_port_freed() {
    container_exec systemctl stop pigpiod-standin || return 1
    container_exec systemctl restart pisockd.service || return 1
    wait_state pisockd.service active 10 || return 1
    check_hello
}

install_debs() {
    container_exec apt-get install -y -q --no-install-recommends "${debs[@]/#//debs/}" \
        >"$logdir/install.log" 2>&1 || { tail "$logdir/install.log"; return 1; }
}

# --- per suite ----------------------------------------------------------------------------

# Builds SUITE's packages for ARCH with scripts/build-deb and records two cases (built,
# lintian clean) under LABEL; sets dir and debs. False if nothing was built: then the other
# CASES cases of LABEL are reported skipped.
build_packages() { # LABEL SUITE ARCH NOCHECK CASES
    local label=$1 rc f
    dir=$out/$2-$3
    step "$label: building the packages"
    PISOCK_DEB_OUT=$out PISOCK_DEB_NOCHECK=$4 "$repo/scripts/build-deb" "$2" "$3" \
        >"$logdir/build-deb.log" 2>&1
    rc=$?
    grep '^build-deb:' "$logdir/build-deb.log" | sed 's/^/        /'
    if [ $rc -ne 0 ] && [ $rc -ne 3 ]; then
        case_fail "$label: the packages build" "see $logdir/build-deb.log"
        tail -n 30 "$logdir/build-deb.log" | sed 's/^/        /'
        skip_suite "$label" "the packages did not build" $(($5 - 1))
        return 1
    fi
    case_pass "$label: the packages build"
    grep -v '^running with root privileges' "$dir/lintian.txt" | sed 's/^/        /'
    if [ $rc -eq 0 ]; then
        case_pass "$label: lintian reports no errors and no warnings"
    else
        case_fail "$label: lintian reports no errors and no warnings"
    fi
    debs=()
    for f in "$dir"/pisockd_*.deb "$dir"/pisock_*.deb; do debs+=("$(basename "$f")"); done
}

# What the packages in dir depend on, but each other: a Depends line for rootfs_satisfy.
# A user's release build (-O3, -Werror, tests off) with SUITE's compiler: this machine's for
# its own suite, else in the container the packages were built in (release_build.sh).
check_release_build() {
    local stage root
    stage=$(cd "$dir/stage" && echo pisockd-*)
    if [ "$suite" = "$host_suite" ]; then
        "$repo/tests/packaging/release_build.sh" "$dir/stage/$stage" "$dir/release"
        return
    fi
    root=$(ensure_rootfs "$suite" build) || return 1
    rootfs_run "$root" --bind="$dir:/out" -- \
        bash "/out/stage/$stage/tests/packaging/release_build.sh" "/out/stage/$stage" /out/release
}

runtime_deps() {
    local f
    for f in "${debs[@]}"; do dpkg-deb -f "$dir/$f" Depends; done |
        tr ',' '\n' | sed 's/^ *//; /^$/d; /^pisock/d' | sort -u | paste -sd, -
}

test_suite() { # SUITE
    suite=$1
    suite_t0=$SECONDS
    local root deps
    logdir=$out/$suite-logs
    mkdir -p "$logdir"

    # This machine's suite was just tested by scripts/test with the same compiler and
    # libraries: its package is built without running the tests again. Other suites' builds
    # run them (for trixie, the only place GCC 14 and Catch2 3 meet the code).
    local nocheck=${PISOCK_DEB_NOCHECK:-}
    [ -n "$nocheck" ] || { [ "$suite" = "$host_suite" ] && nocheck=1 || nocheck=0; }
    build_packages "$suite" "$suite" amd64 "$nocheck" $kCasesPerSuite || return
    step "$suite: a release build"
    check "$suite: a release build (-O3, -Werror) of pisockd and pisock has no warning" \
        check_release_build
    step "$suite: preparing the container"
    if ! root=$(ensure_rootfs "$suite" rootfs); then
        skip_suite "$suite" "no $suite root filesystem (debootstrap failed: no mirror?)" $((kCasesPerSuite - 3))
        return
    fi
    deps=$(runtime_deps)
    if ! rootfs_satisfy "$root" "$deps"; then
        case_fail "$suite: runtime dependencies in the container" "$deps"
        skip_suite "$suite" "no container with the runtime dependencies" $((kCasesPerSuite - 4))
        return
    fi
    if ! boot_container "$root" --bind-ro="$dir:/debs"; then
        # The packages are not involved yet: this machine cannot boot containers.
        skip_suite "$suite" "a systemd container does not boot here (see above)" $((kCasesPerSuite - 3))
        return
    fi
    step "$suite: container booted; installing"

    check "$suite: apt-get install of pisockd and pisock succeeds" install_debs
    check "$suite: pisockd.service is enabled and active, pisockd.socket is not enabled" \
        check_enabled_active
    check "$suite: pisockd runs unprivileged" check_unprivileged
    check "$suite: 'pisock -m hello' gets 'server rec: hello' over loopback" check_hello
    check "$suite: the journal has the connect line at priority info, with its fields" check_journal_connect
    check "$suite: systemctl status shows the daemon's STATUS= line" check_status_line
    check "$suite: systemctl reload keeps an open connection and applies the new prefix" \
        check_reload
    check "$suite: systemd-analyze security rates pisockd.service at most 2.0" check_security
    check "$suite: systemd-analyze verify accepts the units" check_verify
    check "$suite: pisockd feeds the watchdog" check_watchdog
    check "$suite: pisockd --stats shows the service's live stats to root only" check_stats
    check "$suite: systemctl stop is clean" check_stop
    check "$suite: two instances of pisockd@.service share port 8888 and both serve" \
        check_instances
    check "$suite: an upgrade restarts the running instances of pisockd@.service" \
        check_instances_upgrade
    check "$suite: switching to pisockd.socket activates pisockd on the first client" \
        check_socket_activation
    check "$suite: the socket-activated daemon logs the socket's name" check_socket_named
    check "$suite: apt-get remove stops service and socket, keeps the conffile" check_remove
    check "$suite: apt-get purge leaves nothing behind" check_purged
    step "$suite: installing again with port 8888 taken"
    check "$suite: with port 8888 taken the install succeeds and the journal says why" \
        check_install_port_taken
    check "$suite: once the port is free, a restart brings pisockd up" \
        check_restart_after_port_freed
    container_exec apt-get purge -y -q pisockd pisock >/dev/null 2>&1
    poweroff_container
    step "$suite: done"
}

host_suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
for a in $arches; do
    case $a in amd64 | armhf) ;; *) echo "PISOCK_TEST_ARCHES: no test for '$a' (amd64, armhf)" >&2 && exit 1 ;; esac
done
why=$(container_unavailable) && {
    for s in $suites; do
        for a in $arches; do
            if [ "$a" = amd64 ]; then skip_suite "$s" "$why"; else skip_suite "$s $a" "$why" $kCasesArmhf; fi
        done
    done
    cases_summary
    exit 0
}
for s in $suites; do
    for a in $arches; do
        if [ "$a" = amd64 ]; then test_suite "$s"; else test_armhf "$s"; fi
    done
done
cases_summary
