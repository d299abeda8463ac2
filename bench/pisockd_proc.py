"""pisockd for the benchmark scripts: started on port 0 (the port read from its log, since a
port chosen here could be taken by a client socket of an earlier run), found under the
wrappers that run it (taskset, prlimit, heaptrack), its log kept by a thread so that a line
per client never fills the pipe, and what /proc says of its memory."""
import re
import subprocess
import threading


def status_kib(pid, key="VmRSS"):
    """A size field of /proc/PID/status (VmRSS, VmHWM) in KiB; 0 if it has none."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def find_process(root, name="pisockd"):
    """root, or the first of its descendants whose command is name."""
    pending = [root]
    while pending:
        pid = pending.pop(0)
        try:
            with open(f"/proc/{pid}/comm") as f:
                if f.read().strip() == name:
                    return pid
            with open(f"/proc/{pid}/task/{pid}/children") as f:
                pending += [int(c) for c in f.read().split()]
        except FileNotFoundError:
            pass
    raise RuntimeError(f"no {name} process under {root}")


class Pisockd:
    """Runs cmd (pisockd, maybe under wrappers) that listens on host:0: port, pid, log."""

    def __init__(self, cmd, host="127.0.0.1"):
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True)
        listening = re.compile(r"listening on " + re.escape(host) + r":(\d+)")
        self.port = None
        for line in self.proc.stderr:  # ends if the daemon exits
            m = listening.search(line)
            if m:
                self.port = int(m.group(1))
                break
        if self.port is None:
            raise RuntimeError("pisockd did not start: " + " ".join(cmd))
        self.pid = find_process(self.proc.pid)
        self.log = []
        self.reader = threading.Thread(target=lambda: self.log.extend(self.proc.stderr))
        self.reader.start()
