#!/usr/bin/env python3
"""Daemon memory with many idle connections: starts pisockd, opens N connections from
several 127.0.0.x addresses (each optionally sending one line and reading its reply first),
then prints the daemon's VmRSS before and after, and per connection.

    bench/idle_rss.py BUILD [N] [--talk]
"""
import os
import resource
import socket
import subprocess
import sys
import time


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    build = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2].isdigit() else 10000
    talk = "--talk" in sys.argv
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 100), hard))
    # Port 0: the daemon picks a free port and logs it (a port chosen here could be taken by
    # one of the many client sockets of an earlier run before the daemon binds it).
    daemon = subprocess.Popen([os.path.join(build, "daemon", "pisockd"), "--config", "/dev/null",
                               "--log-level", "info", "--max-connections", str(n + 100), "--max-per-host", "0",
                               "--listen", "0.0.0.0:0"], stderr=subprocess.PIPE, text=True)
    try:
        port = None
        for line in daemon.stderr:  # ends if the daemon exits
            if "listening on 0.0.0.0:" in line:
                port = int(line.rsplit(":", 1)[1])
                break
        if port is None:
            raise RuntimeError("pisockd did not start")
        # The rest of its log (one line per client) must not fill the pipe and block it.
        subprocess.Popen(["cat"], stdin=daemon.stderr, stdout=subprocess.DEVNULL)
        time.sleep(0.3)
        before = rss_kib(daemon.pid)
        socks = []
        for i in range(n):
            s = socket.create_connection(("127.0.0.1", port), source_address=(f"127.0.0.{1 + i % 8}", 0))
            if talk:
                s.sendall(b"hello %d\n" % i)
                reply = b""
                while not reply.endswith(b"\n"):
                    reply += s.recv(100)
                assert reply.startswith(b"server rec: hello"), reply
            socks.append(s)
        time.sleep(1)
        after = rss_kib(daemon.pid)
        print(f"{n} connections{' (one round trip each, then idle)' if talk else ' (idle)'}: "
              f"daemon VmRSS {before} KiB before, {after} KiB after: "
              f"{(after - before) / 1024:.1f} MiB, {(after - before) * 1024 / n:.0f} bytes per connection")
        for s in socks:
            s.close()
    finally:
        daemon.terminate()
        daemon.wait(timeout=15)


if __name__ == "__main__":
    main()
