#!/bin/bash
# System calls per message: strace -c -f on the server while `pisock bench` sends a fixed
# number of messages; prints each call's count divided by the messages answered.
#   bench/syscalls.sh BUILD MODE [CONNS] [MESSAGES] [SIZE]     MODE: echo | reply | ref
set -eu
build=$1 mode=$2 conns=${3:-50} messages=${4:-100000} size=${5:-64}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
case $mode in
ref) server=("$build/bench/ref_echo" "$port") bench_mode=echo ;;
echo | reply) server=("$build/daemon/pisockd" --config /dev/null --log-level warning --mode "$mode"
        --listen "127.0.0.1:$port") bench_mode=$([ "$mode" = reply ] && echo line || echo echo) ;;
*) echo "mode: echo, reply or ref" >&2; exit 2 ;;
esac
"${server[@]}" & pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do (: </dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.05; done
out=$(mktemp)
strace -c -f -o "$out" -p "$pid" 2>/dev/null & st=$!
sleep 1 # strace needs a moment to attach; the count below is what the bench sent
"$build/client/pisock" bench 127.0.0.1 "$port" -c "$conns" -s "$size" -n "$messages" --warmup 0 \
    --mode "$bench_mode" --no-progress | sed -n 3p
sleep 0.5
kill -INT $st; wait $st 2>/dev/null || true
# The server answered exactly the messages sent: the bench counts the first -n and stops
# sending, so sent = messages + at most one in flight per connection.
awk -v m="$messages" -v c="$conns" '
    $NF ~ /^[a-z_0-9]+$/ && $4 ~ /^[0-9]+$/ && $NF != "total" { printf "%-14s %9d  %.3f per message\n", $NF, $4, $4 / m; n += $4 }
    END { printf "%-14s %9d  %.3f per message (in-flight slack: %d messages)\n", "all", n, n / m, c }' "$out"
rm -f "$out"
