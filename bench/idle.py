"""Measurement 6: memory per idle open WebSocket, the growth of the Daphne process's resident
memory while ``count`` signed-in sockets sit open doing nothing; then while the same sockets
sit idle again after each was sent one frame (from its first frame on, a compressed socket
holds its compressor)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from bench.harness import Target
from bench.servers import ROOT, child_env


def hold(
    target: Target,
    count: int,
    timeout: float = 120.0,
    at: Callable[[str], None] | None = None,
    connecting: int = 50,
) -> dict[str, Any]:
    """Open ``count`` sockets, ``connecting`` at a time, read the server's memory, have each
    sent one frame, read it again, close them. ``at`` is called at each reading too, with its
    name (``before``, ``open``, ``frame``)."""
    mark = at or (lambda _: None)
    server = target.processes[0]
    spec = {
        "kind": "idle",
        "ports": target.ports,
        "streams": count,
        "cookies": target.cookies,
        "connect_concurrency": connecting,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.loadgen"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=child_env(),
    )

    def say(line: str) -> dict[str, Any]:
        process.stdin.write(line + "\n")
        process.stdin.flush()
        answer = json.loads(process.stdout.readline())
        time.sleep(1.0)  # let the server finish whatever each connect or frame started
        return answer

    try:
        before = server.rss_bytes()
        mark("before")
        opened = say(json.dumps(spec))
        during = server.rss_bytes()
        mark("open")
        framed = say("frame")
        after_frame = server.rss_bytes()
        mark("frame")
        process.stdin.write("\n")
        process.stdin.flush()
        process.wait(timeout=timeout)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return {
        "sockets": opened["opened"],
        "errors": opened["errors"],
        "first_error": opened.get("first_error", ""),
        "framed": framed["framed"],
        "rss_before": before,
        "rss_during": during,
        "rss_after_frame": after_frame,
    }


def measure(target: Target, count: int, log) -> dict[str, Any]:
    hold(target, 20)  # warm-up: imports, caches and pools the first sockets fill once
    out = hold(target, count)
    opened = max(1, out["sockets"])
    out["bytes_per_socket"] = (out["rss_during"] - out["rss_before"]) / opened
    out["bytes_per_socket_after_frame"] = (out["rss_after_frame"] - out["rss_before"]) / opened
    log(
        f"  {out['sockets']} idle sockets: rss {out['rss_before'] / 2**20:.1f} -> "
        f"{out['rss_during'] / 2**20:.1f} MiB, {out['bytes_per_socket'] / 1024:.1f} KiB each; "
        f"after a frame each {out['rss_after_frame'] / 2**20:.1f} MiB, "
        f"{out['bytes_per_socket_after_frame'] / 1024:.1f} KiB each"
    )
    return out
