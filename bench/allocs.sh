#!/bin/bash
# Heap allocations per message in steady state: the server runs under heaptrack twice, for N1
# and N2 messages of the same load; (calls2 - calls1) / (N2 - N1) is what one message costs.
#   bench/allocs.sh BUILD MODE [CONNS] [SIZE] [N1] [N2]      MODE: echo | reply
set -eu
build=$1 mode=$2 conns=${3:-50} size=${4:-64} n1=${5:-20000} n2=${6:-220000}
bench_mode=$([ "$mode" = reply ] && echo line || echo echo)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
calls() { # MESSAGES
    local port pid
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    heaptrack -o "$tmp/ht-$1" "$build/daemon/pisockd" --config /dev/null --log-level warning \
        --mode "$mode" --listen "127.0.0.1:$port" >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 200); do (: </dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.05; done
    "$build/client/pisock" bench 127.0.0.1 "$port" -c "$conns" -s "$size" -n "$1" --warmup 0 \
        --mode "$bench_mode" --no-progress >/dev/null
    pkill -INT -f "listen 127.0.0.1:$port" || true
    wait $pid 2>/dev/null || true
    heaptrack_print "$tmp"/ht-"$1".* 2>/dev/null | sed -n 's/^calls to allocation functions: \([0-9]*\).*/\1/p'
}
c1=$(calls "$n1")
c2=$(calls "$n2")
echo "$mode, $conns connections, $size B: $c1 allocations for $n1 messages, $c2 for $n2:" \
    "$(python3 -c "print(f'{($c2 - $c1) / ($n2 - $n1):.5f}')") per message"
