"""Where an idle signed-in WebSocket's memory goes: our server under tracemalloc
(``bench.traced_server``), snapshots before and after ``--sockets`` idle sockets open, and
after each is sent one frame; the growth per socket by the source line that allocated it,
largest first. A diagnosis for the idle-socket rows of docs/benchmarks.md (``python -m bench
--only idle`` measures resident memory, untraced); nothing is written to the results.

    .venv/bin/python -m bench.socket_memory --sockets 300 --top 25
"""

from __future__ import annotations

import argparse
import os
import signal
import time
import tracemalloc
from pathlib import Path

from bench import idle
from bench.harness import Target
from bench.servers import Database, Fake, Ours, Stack, ours_env, prepare, workspace

IGNORED = [tracemalloc.Filter(False, tracemalloc.__file__)]


def snapshot(server: Ours, folder: Path, taken: list[Path]) -> None:
    path = folder / str(len(taken))
    os.kill(server.pid, signal.SIGUSR1)
    deadline = time.monotonic() + 600
    while not path.with_suffix(".done").exists():
        if time.monotonic() > deadline:
            raise TimeoutError("the traced server wrote no snapshot")
        time.sleep(0.1)
    taken.append(path)


def growth(before: Path, after: Path, sockets: int, top: int) -> list[str]:
    old = tracemalloc.Snapshot.load(str(before)).filter_traces(IGNORED)
    new = tracemalloc.Snapshot.load(str(after)).filter_traces(IGNORED)
    stats = new.compare_to(old, "lineno")
    lines = [f"{sum(s.size_diff for s in stats) / sockets:9.0f} B per socket in all"]
    for s in stats[:top]:
        lines.append(f"{s.size_diff / sockets:9.0f} B  {s.traceback[0]}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sockets", type=int, default=300)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    with workspace() as work, Stack() as stack:
        fake = stack.start(Fake(work))
        folder = work / "snapshots"
        folder.mkdir()
        env = ours_env(fake, work, Database(work, postgres=False), None)
        env["SNAPSHOTS"] = str(folder)
        keys = prepare(env)
        server = stack.start(Ours(env, work / "ours.log", module="bench.traced_server"))
        target = Target("ours", "ws", [server.port], [server], keys)
        idle.hold(target, 20)  # warm-up, as bench.idle does
        taken: list[Path] = []
        # A few at a time: traced, a handshake is slow enough that fifty at once outlast Daphne's
        # handshake timeout.
        out = idle.hold(
            target, args.sockets, at=lambda _: snapshot(server, folder, taken), connecting=4
        )
        opened = max(1, out["sockets"])
        if out["errors"]:
            print(f"{out['errors']} sockets failed to open, the first: {out['first_error']}")
        print(f"{out['sockets']} idle sockets; traced growth when they opened:")
        print("\n".join(growth(taken[0], taken[1], opened, args.top)))
        print("after each was sent one frame, beyond that:")
        print("\n".join(growth(taken[1], taken[2], opened, args.top)))


if __name__ == "__main__":
    main()
