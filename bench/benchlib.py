"""What the benchmark programs share: their log line, a process's CPU clock, and stopping the clusters a run made."""
import os
import sys


def log(message):
    print(f"[bench] {message}", file=sys.stderr, flush=True)


class CpuClock:
    """User + system CPU seconds of one process, from /proc; always zero without a pid."""

    def __init__(self, pid):
        self.pid = pid
        self.tick = os.sysconf("SC_CLK_TCK")

    def __call__(self):
        if not self.pid:
            return 0.0
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / self.tick


def stop_clusters(gateway, names, label=""):
    """DELETE every cluster, then wait for each to end; a failure is logged and the others still stop."""
    prefix = f"{label}: " if label else ""
    for name in names:
        try:
            gateway.stop(name)
        except Exception as e:  # keep stopping the others
            log(f"{prefix}DELETE {name}: {e}")
    for name in names:
        try:
            gateway.wait_status(name, ("STOPPED", "FAILED"), timeout=90)
        except Exception as e:
            log(f"{prefix}{name} did not stop: {e}")
