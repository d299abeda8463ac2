# scripts/lib/container.sh: Debian roots and a real systemd in a container, for
# scripts/build-deb and the tests that need one.
# Source it from bash. The README ("Testing the packages") says how the package tests use it.
#
#   container_unavailable          print why containers cannot run here; false if they might
#                                  (inside some containers only booting one tells: a test
#                                  reports a boot_container failure as skipped, with its log)
#   ensure_rootfs [--arch=ARCH] SUITE NAME [PKG...]
#                                  print the path of a cached Debian root with systemd (and
#                                  PKG...), made by debootstrap on first use: about a minute;
#                                  for another ARCH than this machine's (NAME-SUITE-ARCH) its
#                                  programs run under qemu-user (binfmt_misc), several minutes
#   rootfs_run ROOT [NSPAWN_OPT...] -- CMD...
#                                  run CMD in ROOT without booting it (apt-get, builds); the
#                                  network is the host's, changes stay in ROOT (unless
#                                  --volatile=overlay); QEMU_CPU, if set, reaches CMD
#   rootfs_satisfy ROOT DEPENDS    make ROOT satisfy a Depends-style list (apt-get satisfy)
#   boot_container ROOT [NSPAWN_OPT...]
#                                  boot ROOT (--volatile=overlay: every change is thrown away,
#                                  --private-network: loopback only) and wait for systemd;
#                                  sets CONTAINER_PID (nspawn), CONTAINER_LEADER (its init)
#                                  and CONTAINER_LOG (nspawn's console output)
#   container_exec CMD...          run CMD inside the booted container (stdin passes through)
#   container_wait SECONDS CMD...  run CMD inside until it succeeds, or fail after SECONDS
#   poweroff_container             shut it down cleanly (killed after 30 s); safe to repeat
#
# Roots live under ${PISOCK_CACHE:-/var/cache/pisockd-test}; delete a directory there to
# start it again. One container at a time per shell.

PISOCK_CACHE=${PISOCK_CACHE:-/var/cache/pisockd-test}
CONTAINER_PID=
CONTAINER_LEADER=
CONTAINER_LOG=
_container_path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

_container_mirror() {
    local m
    m=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null)
    [ -n "$m" ] || m=$(awk '$1 == "deb" && $2 ~ /^http/ { print $2; exit }' /etc/apt/sources.list 2>/dev/null)
    echo "${m:-http://deb.debian.org/debian}"
}

container_unavailable() {
    if [ "$(id -u)" -ne 0 ]; then
        echo "not root (systemd-nspawn and debootstrap need root)"
    elif ! command -v systemd-nspawn >/dev/null || ! command -v debootstrap >/dev/null ||
        ! command -v nsenter >/dev/null; then
        echo "systemd-nspawn, debootstrap or nsenter missing (packages systemd-container, debootstrap)"
    else
        return 1
    fi
}

ensure_rootfs() { # [--arch=ARCH] SUITE NAME [PKG...]
    local arch='' suite name root
    case ${1:-} in --arch=*) arch=${1#--arch=} && shift ;; esac
    [ "$arch" != "$(dpkg --print-architecture)" ] || arch=
    suite=$1 name=$2
    shift 2
    root=$PISOCK_CACHE/$name-$suite${arch:+-$arch}
    mkdir -p "$PISOCK_CACHE" || return 1
    (
        flock 9
        [ -d "$root" ] && exit 0
        local include=systemd,systemd-sysv,dbus
        [ $# -gt 0 ] && include="$include,$(echo "$*" | tr ' ' ',')"
        echo "container: debootstrap $suite${arch:+ $arch} into $root (once; about a minute${arch:+, more under qemu})" >&2
        rm -rf "$root.tmp"
        if ! debootstrap ${arch:+--arch="$arch"} --variant=minbase --include="$include" "$suite" \
            "$root.tmp" "$(_container_mirror)" >"$root.log" 2>&1; then
            echo "container: debootstrap $suite${arch:+ $arch} failed, see $root.log" >&2
            tail -n 5 "$root.log" >&2
            exit 1
        fi
        mv "$root.tmp" "$root"
    ) 9>"$root.lock" || return 1
    # What an installed system has and debootstrap leaves out: "localhost" resolves.
    [ -e "$root/etc/hosts" ] ||
        printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
    echo "$root"
}

rootfs_run() { # ROOT [NSPAWN_OPT...] -- CMD...
    local root=$1 opts=()
    shift
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        opts+=("$1")
        shift
    done
    shift
    (
        flock 9
        # qemu-user (binfmt_misc) reads QEMU_CPU at every exec: env is the first one inside.
        systemd-nspawn -q -D "$root" --register=no --keep-unit --pipe \
            ${QEMU_CPU:+--setenv=QEMU_CPU="$QEMU_CPU"} "${opts[@]}" \
            env -i PATH="$_container_path" LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive \
            HOME=/root ${QEMU_CPU:+QEMU_CPU="$QEMU_CPU"} "$@"
    ) 9>"$root.lock"
}

rootfs_satisfy() { # ROOT DEPENDS
    local root=$1 depends=$2
    rootfs_run "$root" -- apt-get -q -y --no-install-recommends satisfy "$depends" \
        >"$root.satisfy.log" 2>&1 && return 0
    # Stale package lists: refresh once and try again.
    rootfs_run "$root" -- sh -c 'apt-get -q update && apt-get -q -y --no-install-recommends satisfy "$1"' \
        sh "$depends" >"$root.satisfy.log" 2>&1 && return 0
    tail -n 20 "$root.satisfy.log" >&2
    return 1
}

boot_container() { # ROOT [NSPAWN_OPT...]
    local root=$1 deadline state
    shift
    poweroff_container
    CONTAINER_LOG=$(mktemp /tmp/pisock-container.XXXXXX.log)
    systemd-nspawn -D "$root" --boot --register=no --keep-unit --console=passive \
        --volatile=overlay --private-network "$@" </dev/null >"$CONTAINER_LOG" 2>&1 &
    CONTAINER_PID=$!
    deadline=$((SECONDS + 60))
    # nspawn's child becomes the container's PID 1; wait until its systemd has booted.
    while [ $SECONDS -lt $deadline ]; do
        if ! kill -0 "$CONTAINER_PID" 2>/dev/null; then
            echo "container: systemd-nspawn exited during boot:" >&2
            tail -n 20 "$CONTAINER_LOG" >&2
            CONTAINER_PID=
            return 1
        fi
        CONTAINER_LEADER=$(ps --ppid "$CONTAINER_PID" -o pid= | head -n 1 | tr -d ' ')
        if [ -n "$CONTAINER_LEADER" ]; then
            state=$(container_exec systemctl is-system-running 2>/dev/null)
            case $state in
            running) return 0 ;;
            degraded)
                echo "container: booted degraded:" >&2
                container_exec systemctl --failed --no-legend >&2
                return 0
                ;;
            esac
        fi
        sleep 0.2
    done
    echo "container: systemd did not finish booting in 60 s (state: ${state:-none})" >&2
    tail -n 20 "$CONTAINER_LOG" >&2
    poweroff_container
    return 1
}

container_exec() { # CMD...
    nsenter -t "$CONTAINER_LEADER" -m -u -i -p -C -r -w -n \
        env -i PATH="$_container_path" LANG=C.UTF-8 TERM=dumb HOME=/root \
        DEBIAN_FRONTEND=noninteractive SYSTEMD_PAGER= SYSTEMD_COLORS=0 "$@"
}

container_wait() { # SECONDS CMD...
    local deadline=$((SECONDS + $1))
    shift
    while ! container_exec "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.2
    done
}

poweroff_container() {
    [ -n "$CONTAINER_PID" ] || return 0
    local deadline=$((SECONDS + 30))
    if kill -0 "$CONTAINER_PID" 2>/dev/null; then
        container_exec systemctl poweroff --no-block >/dev/null 2>&1 ||
            kill -TERM "$CONTAINER_PID" 2>/dev/null
        while kill -0 "$CONTAINER_PID" 2>/dev/null && [ $SECONDS -lt $deadline ]; do
            sleep 0.2
        done
        if kill -0 "$CONTAINER_PID" 2>/dev/null; then
            echo "container: did not power off in 30 s, killing it" >&2
            # The leader is PID 1 of the container's namespace: its death ends them all.
            [ -n "$CONTAINER_LEADER" ] && kill -KILL "$CONTAINER_LEADER" 2>/dev/null
            kill -KILL "$CONTAINER_PID" 2>/dev/null
        fi
    fi
    wait "$CONTAINER_PID" 2>/dev/null
    rm -f "$CONTAINER_LOG"
    CONTAINER_PID=
    CONTAINER_LEADER=
}
