"""What the figures were measured on."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from typing import Any

PACKAGES = (
    "django", "channels", "channels-redis", "daphne", "twisted", "autobahn", "openai", "httpx",
    "psycopg", "redis", "fastapi", "starlette", "uvicorn", "pydantic", "websockets",
    "llama-cpp-python", "py-spy",
)  # fmt: skip


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(command: list[str]) -> str:
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=10).stdout.strip()
    except OSError:
        return "not found"


def code_version() -> dict[str, Any]:
    """Which commit of the application was measured, and whether its tree had other changes."""
    from bench.servers import ROOT

    marker = ROOT / ".commit"  # a scratch copy made with ``git archive`` records it here
    if marker.exists():
        return {"commit": marker.read_text().strip(), "tree": f"clean copy in {ROOT}"}
    commit = _version(["git", "-C", str(ROOT), "rev-parse", "HEAD"])
    dirty = _version(["git", "-C", str(ROOT), "status", "--porcelain", "--", "chat", "streaming"])
    return {"commit": commit, "tree": "with uncommitted changes" if dirty else "clean"}


def describe() -> dict[str, Any]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    cores = os.cpu_count() or 0
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    cpu = _cpu_model()
    return {
        "summary": f"{cores} cores ({cpu}), {memory / 2**30:.0f} GiB, Python "
        f"{platform.python_version()}",
        "nproc": cores,
        "cpu": cpu,
        "memory_bytes": memory,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "postgres": _version(["psql", "--version"]),
        "redis": _version(["redis-server", "--version"]),
        "packages": versions,
        "code": code_version(),
        "loadavg_at_start": os.getloadavg(),
    }
