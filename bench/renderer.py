"""Measurement 9: the browser renderer's figures, from ``bench/render`` (the browser-experience
issue's Playwright runner, ``python -m bench.render.run``) when it is there."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from bench.servers import HOME, child_env


def measure(profile: dict[str, Any], log) -> dict[str, Any]:
    runner = HOME / "bench" / "render" / "run.py"
    if not runner.exists():
        log("  bench/render is not there yet: not measured")
        return {
            "measured": False,
            "reason": "bench/render (the Playwright runner) does not exist yet",
        }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.render.run",
            *(["--full"] if profile["name"] == "full" else []),
        ],
        capture_output=True,
        text=True,
        cwd=HOME,
        env=child_env(),
        timeout=240,
    )
    if done.returncode:
        return {"measured": False, "reason": f"bench.render.run failed: {done.stderr[-500:]}"}
    try:
        figures = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"measured": False, "reason": "bench.render.run printed no JSON"}
    return {"measured": True, "figures": figures}
