#!/usr/bin/env python3
"""Daemon memory with many idle connections: starts pisockd, opens N connections from
several 127.0.0.x addresses (each optionally sending one line and reading its reply first),
then prints the daemon's VmRSS before and after, and per connection.

    bench/idle_rss.py BUILD [N] [--talk]
"""
import os
import resource
import socket
import sys
import time

from pisockd_proc import Pisockd, status_kib  # bench/pisockd_proc.py


def main():
    build = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2].isdigit() else 10000
    talk = "--talk" in sys.argv
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 100), hard))
    daemon = Pisockd([os.path.join(build, "daemon", "pisockd"), "--config", "/dev/null",
                      "--log-level", "info", "--max-connections", str(n + 100), "--max-per-host", "0",
                      "--listen", "127.0.0.1:0"])
    try:
        time.sleep(0.3)
        before = status_kib(daemon.pid)
        socks = []
        for i in range(n):
            s = socket.create_connection(("127.0.0.1", daemon.port), source_address=(f"127.0.0.{1 + i % 8}", 0))
            if talk:
                s.sendall(b"hello %d\n" % i)
                reply = b""
                while not reply.endswith(b"\n"):
                    reply += s.recv(100)
                assert reply.startswith(b"server rec: hello"), reply
            socks.append(s)
        time.sleep(1)
        after = status_kib(daemon.pid)
        print(f"{n} connections{' (one round trip each, then idle)' if talk else ' (idle)'}: "
              f"daemon VmRSS {before} KiB before, {after} KiB after: "
              f"{(after - before) / 1024:.1f} MiB, {(after - before) * 1024 / n:.0f} bytes per connection")
        for s in socks:
            s.close()
    finally:
        daemon.proc.terminate()
        daemon.proc.wait(timeout=15)
        daemon.reader.join()


if __name__ == "__main__":
    main()
