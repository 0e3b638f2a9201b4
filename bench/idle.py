"""Measurement 6: memory per idle open WebSocket, the growth of the Daphne process's resident
memory while ``count`` signed-in sockets sit open doing nothing."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

from bench.harness import Target
from bench.servers import ROOT, child_env


def hold(target: Target, count: int, timeout: float = 120.0) -> tuple[dict[str, Any], int, int]:
    """Open ``count`` sockets, read the server's memory, close them; (report, before, during)."""
    server = target.processes[0]
    spec = {"kind": "idle", "ports": target.ports, "streams": count, "cookies": target.cookies}
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.loadgen"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=child_env(),
    )
    try:
        before = server.rss_bytes()
        process.stdin.write(json.dumps(spec) + "\n")
        process.stdin.flush()
        opened = json.loads(process.stdout.readline())
        time.sleep(1.0)  # let the server finish whatever each connect started
        during = server.rss_bytes()
        process.stdin.write("\n")
        process.stdin.flush()
        process.wait(timeout=timeout)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return opened, before, during


def measure(target: Target, count: int, log) -> dict[str, Any]:
    hold(target, 20)  # warm-up: imports, caches and pools the first sockets fill once
    opened, before, during = hold(target, count)
    per_socket = (during - before) / max(1, opened["opened"])
    log(
        f"  {opened['opened']} idle sockets: rss {before / 2**20:.1f} -> {during / 2**20:.1f} MiB,"
        f" {per_socket / 1024:.1f} KiB each"
    )
    return {
        "sockets": opened["opened"],
        "errors": opened["errors"],
        "rss_before": before,
        "rss_during": during,
        "bytes_per_socket": per_socket,
    }
