# shellcheck shell=bash disable=SC2034,SC2154 # sourced: globals of packages_test.sh
# tests/packaging/packages_armhf.sh: the armhf packages (32-bit Raspberry Pi OS), as far as
# qemu-user goes; sourced by packages_test.sh, which provides build_packages, runtime_deps,
# step and skip_suite.
#
# Built by scripts/build-deb SUITE armhf (cross, ARMv6, the tests run under qemu-user as a
# Cortex-A7), then installed into an armhf root of that suite (debootstrap --arch=armhf; every
# program in it runs under qemu-user through binfmt_misc, as the Cortex-A7 of a Pi 2) and
# tried there without systemd: the postinst, pisockd --check, a reply over loopback, a clean
# stop. No systemd is booted: under qemu-user it does not come up (README, "Testing the
# packages").

kCasesArmhf=9 # every case below, for reporting skips

# The shipped binaries, from the .debs, as ld tagged them: what an ARMv6 Pi needs. The whole
# inspection (every instruction) ran in the package build, on the unstripped binaries, with
# its proof that it rejects an ARMv7 hello world: both are shown from build.log.
check_armv6_tags() {
    local tmp f tags rc=0
    tmp=$(mktemp -d) || return 1
    for f in "${debs[@]}"; do dpkg-deb -x "$dir/$f" "$tmp" || rc=1; done
    for f in "$tmp/usr/sbin/pisockd" "$tmp/usr/bin/pisock"; do
        tags=$(readelf -A "$f" | sed -n 's/^ *\(Tag_CPU_arch\|Tag_THUMB_ISA_use\|Tag_FP_arch\|Tag_Advanced_SIMD_arch\): /\1=/p' | paste -sd' ')
        echo "${f#"$tmp"}: $tags"
        [[ $tags == *"Tag_CPU_arch=v6 "* && $tags != *Thumb-2* && $tags == *Tag_FP_arch=VFPv2* &&
            $tags != *SIMD* ]] || rc=1
    done
    rm -rf "$tmp"
    grep -h 'ARMv6 (ARM1176) only\|static inputs\|^    /\|^debian/armv6-check rejects\|^debian/armv7-hello' \
        "$dir/build.log" || { echo "build.log: no debian/armv6-check run"; rc=1; }
    return $rc
}

# Runs inside the armhf root (bash, under qemu-user): one line "@ok NAME" or "@FAILED NAME"
# per case, in the order of kArmhfCases, each followed by what it printed.
# shellcheck disable=SC2016 # expanded inside the root
kInRoot='
set -u
case_() { # NAME CMD...
    local name=$1
    shift
    if "$@" >/tmp/case.out 2>&1; then echo "@ok $name"; else echo "@FAILED $name"; fi
    sed "s/^/        /" /tmp/case.out
}
platform() {
    local p
    p=$(LD_SHOW_AUXV=1 /bin/true | sed -n "s/^AT_PLATFORM: *//p")
    echo "QEMU_CPU=${QEMU_CPU:-unset}, AT_PLATFORM $p"
    [ "$p" = v7l ]
}
install() { apt-get install -y -q --no-install-recommends /debs/pisockd_*.deb /debs/pisock_*.deb; }
enabled() {
    local link=/etc/systemd/system/multi-user.target.wants/pisockd.service
    [ -L "$link" ] && echo "$link -> $(readlink "$link")"
}
check() { pisockd --check; }
daemon=
hello() {
    pisockd >/tmp/pisockd.log 2>&1 &
    daemon=$!
    local deadline=$((SECONDS + 30)) reply
    until reply=$(timeout 10 pisock -m hello 2>&1); do
        kill -0 "$daemon" 2>/dev/null || { echo "pisockd exited:"; cat /tmp/pisockd.log; return 1; }
        [ $SECONDS -lt $deadline ] || { echo "no reply within 30 s: $reply"; return 1; }
        sleep 0.2
    done
    echo "$reply"
    [ "$reply" = "server rec: hello" ]
}
stop() {
    [ -n "$daemon" ] || { echo "no daemon to stop"; return 1; }
    kill -TERM "$daemon"
    local deadline=$((SECONDS + 15)) rc
    while kill -0 "$daemon" 2>/dev/null; do
        [ $SECONDS -lt $deadline ] || { echo "still running 15 s after SIGTERM"; kill -KILL "$daemon"; return 1; }
        sleep 0.2
    done
    wait "$daemon"
    rc=$?
    tail -n 4 /tmp/pisockd.log
    echo "exit status $rc"
    [ $rc -eq 0 ]
}
case_ platform platform
case_ install install
case_ enabled enabled
case_ check check
case_ hello hello
case_ stop stop
'
kArmhfCases=(
    "platform:qemu-user runs the armhf root as a Cortex-A7"
    "install:apt-get install of pisockd and pisock succeeds"
    "enabled:the postinst enables pisockd.service (no systemd runs to start it)"
    "check:pisockd --check accepts the installed configuration and port 8888"
    "hello:'pisock -m hello' gets 'server rec: hello' from pisockd over loopback"
    "stop:pisockd stops on SIGTERM with exit status 0"
)

test_armhf() { # SUITE
    suite=$1
    suite_t0=$SECONDS
    local label="$suite armhf" root deps line name c text
    logdir=$out/$suite-armhf-logs
    mkdir -p "$logdir"
    build_packages "$label" "$suite" armhf "${PISOCK_DEB_NOCHECK:-0}" $kCasesArmhf || return
    check "$label: pisockd and pisock are tagged ARMv6, VFPv2, no Thumb-2" check_armv6_tags
    step "$label: preparing the root"
    if ! root=$(ensure_rootfs --arch=armhf "$suite" rootfs); then
        skip_suite "$label" "no $suite armhf root filesystem (debootstrap failed)" $((kCasesArmhf - 3))
        return
    fi
    deps=$(runtime_deps)
    if ! rootfs_satisfy "$root" "$deps"; then
        case_fail "$label: runtime dependencies in the root" "$deps"
        skip_suite "$label" "no root with the runtime dependencies" $((kCasesArmhf - 4))
        return
    fi
    step "$label: installing and running under qemu-user"
    # Each case's "@ok NAME" or "@FAILED NAME" is reported under its sentence; the root is
    # thrown away afterwards (--volatile=overlay), and has only loopback (--private-network).
    QEMU_CPU=cortex-a7 rootfs_run "$root" --volatile=overlay --private-network \
        --bind-ro="$dir:/debs" -- bash -c "$kInRoot" >"$logdir/in-root.log" 2>&1
    local -A seen=()
    while IFS= read -r line; do
        case $line in
        @ok\ * | @FAILED\ *)
            name=${line#* }
            text=$name
            for c in "${kArmhfCases[@]}"; do [ "${c%%:*}" = "$name" ] && text=${c#*:}; done
            seen[$name]=1
            if [ "${line%% *}" = @ok ]; then case_pass "$label: $text"; else case_fail "$label: $text"; fi
            ;;
        *) echo "$line" ;;
        esac
    done <"$logdir/in-root.log"
    for c in "${kArmhfCases[@]}"; do
        [ -n "${seen[${c%%:*}]:-}" ] || case_fail "$label: ${c#*:}" "not run (see $logdir/in-root.log)"
    done
    step "$label: done"
}
