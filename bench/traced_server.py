"""Our server (``python -m chat.web.server`` and its arguments) under tracemalloc, for
``bench.socket_memory``: each SIGUSR1 collects garbage and writes a snapshot to
``$SNAPSHOTS/N`` (N counting from 0), then an empty ``N.done`` beside it. Tracing starts with
the first (from start-up on, it would slow the imports past a minute); what is compared is
the growth between snapshots."""

from __future__ import annotations

import gc
import os
import runpy
import signal
import sys
import tracemalloc
from pathlib import Path

FRAMES = 25  # of each allocation's traceback


def main() -> None:
    folder = Path(os.environ["SNAPSHOTS"])
    taken = [0]

    def snapshot(signum: int, frame: object) -> None:
        if not tracemalloc.is_tracing():
            tracemalloc.start(FRAMES)
        gc.collect()
        path = folder / str(taken[0])
        tracemalloc.take_snapshot().dump(str(path))
        path.with_suffix(".done").touch()
        taken[0] += 1

    signal.signal(signal.SIGUSR1, snapshot)
    sys.argv = ["chat.web.server", *sys.argv[1:]]
    runpy.run_module("chat.web.server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
