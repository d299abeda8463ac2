#!/usr/bin/env python3
"""WebSocket against TCP, in one daemon and one run: the daemon's CPU time per message for
echo over a ws listener and over a TCP listener, side by side (pisock bench, 64 B, 50
connections, pipeline 1, alternating rounds), then its memory per idle WebSocket connection.
CPU time is utime + stime from /proc/PID/stat, which a busy machine disturbs less than
throughput.

    bench/ws.py BUILD [--messages N] [--rounds R] [--idle N] [--mode echo|reply]
"""
import argparse
import json
import os
import re
import resource
import socket
import subprocess
import threading
import time

from pisockd_proc import status_kib  # bench/pisockd_proc.py

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def start(build, mode, connections):
    cmd = [os.path.join(build, "daemon", "pisockd"), "--config", "/dev/null", "--mode", mode,
           "--log-level", "info", "--max-connections", str(connections + 100),
           "--max-per-host", "0", "--listen", "ws:127.0.0.1:0", "--listen", "127.0.0.1:0"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    ports = {}
    for line in proc.stderr:
        m = re.search(r"listening on (ws:)?127\.0\.0\.1:(\d+)", line)
        if m:
            ports["ws" if m.group(1) else "tcp"] = int(m.group(2))
            if len(ports) == 2:
                break
    threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()
    return proc, ports


def bench(build, url, mode, messages):
    out = subprocess.run([os.path.join(build, "client", "pisock"), "bench", url, "-c", "50",
                          "-s", "64", "-P", "1", "-n", str(messages), "--warmup", "0",
                          "--mode", "echo" if mode == "echo" else "line", "--json"],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def idle_memory(pid, port, n):
    handshake = (b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                 b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                 b"Sec-WebSocket-Version: 13\r\n\r\n")
    time.sleep(1)
    before = status_kib(pid)
    socks = []
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", port), source_address=(f"127.0.0.{1 + i % 8}", 0))
        s.sendall(handshake)
        head = b""
        while b"\r\n\r\n" not in head:
            head += s.recv(4096)
        assert head.startswith(b"HTTP/1.1 101"), head
        socks.append(s)
    time.sleep(2)  # the pools give back what the burst left
    after = status_kib(pid)
    for s in socks:
        s.close()
    return before, after


def main():
    p = argparse.ArgumentParser()
    p.add_argument("build")
    p.add_argument("--messages", type=int, default=200000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--idle", type=int, default=2000)
    p.add_argument("--mode", default="echo", choices=["echo", "reply"])
    a = p.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, a.idle + 200), hard))
    proc, ports = start(a.build, a.mode, a.idle)
    try:
        totals = {"tcp": [0.0, 0], "ws": [0.0, 0]}
        print(f"{a.mode}, 64 B, 50 connections, pipeline 1, {a.messages} measured messages a run")
        print("| run | listener | msgs/s | daemon CPU s | CPU µs per message |")
        print("|---|---|---|---|---|")
        for r in range(a.rounds):
            for kind in ("tcp", "ws"):
                url = (f"ws://127.0.0.1:{ports['ws']}" if kind == "ws"
                       else f"127.0.0.1:{ports['tcp']}")
                cpu0 = cpu_seconds(proc.pid)
                result = bench(a.build, url, a.mode, a.messages)
                cpu = cpu_seconds(proc.pid) - cpu0
                # No warm-up: every message is counted (and the 50 connections' setup is in).
                sent = result["messages"]
                totals[kind][0] += cpu
                totals[kind][1] += sent
                print(f"| {r + 1} | {kind} | {result['msgs_per_s']:.0f} | {cpu:.2f} | "
                      f"{cpu / sent * 1e6:.2f} |")
        per = {k: v[0] / v[1] * 1e6 for k, v in totals.items()}
        print(f"\nall runs: TCP {per['tcp']:.2f} µs, WebSocket {per['ws']:.2f} µs of daemon CPU "
              f"per message: WebSocket / TCP = {per['ws'] / per['tcp']:.2f}")
        if a.idle:
            before, after = idle_memory(proc.pid, ports["ws"], a.idle)
            print(f"{a.idle} idle WebSocket connections (after the handshake): VmRSS {before} KiB "
                  f"before, {after} KiB after: {(after - before) * 1024 / a.idle:.0f} bytes per "
                  "connection")
    finally:
        proc.terminate()
        proc.wait(timeout=15)


if __name__ == "__main__":
    main()
