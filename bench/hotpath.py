"""Where the server's time goes: py-spy samples the running process from outside (no change
to it), and the stacks are summed by function and by package."""

from __future__ import annotations

import gzip
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

PY_SPY = Path(sys.executable).parent / "py-spy"
_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^:()]+)(?::\d+)?\)$")


def start(pid: int, seconds: float, out: Path, rate: int = 200) -> subprocess.Popen | None:
    if not PY_SPY.exists():
        return None
    command = [str(PY_SPY), "record", "--pid", str(pid), "--duration", str(int(seconds)),
               "--rate", str(rate), "--format", "raw", "--output", str(out), "--nonblocking",
               "--threads"]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def where(path: str) -> str:
    """A readable location: the package for libraries, the file for our own code."""
    for marker in ("site-packages/", "dist-packages/"):
        if marker in path:
            rest = path.split(marker, 1)[1]
            return rest.split("/", 1)[0].removesuffix(".py")
    if "/lib/python3" in path:
        rest = path.split("/lib/python3", 1)[1].split("/", 1)[1]
        return "stdlib " + rest.split("/", 1)[0].removesuffix(".py")
    for mine in ("chat/", "streaming/", "bench/", "tests/"):
        if f"/{mine}" in path:
            return mine + path.split(f"/{mine}", 1)[1]
    return path


def frames(stack: str) -> list[tuple[str, str]]:
    out = []
    for part in stack.split(";"):
        match = _FRAME.match(part.strip())
        if match:
            out.append((match["func"], where(match["file"])))
        elif part.startswith(("thread", "process")):
            continue
    return out


WORTH_A_TOTAL = ("chat/", "streaming/", "bench/", "channels/", "daphne/", "autobahn/", "openai/",
                 "httpx", "httpcore", "django/db", "django/contrib/sessions", "fastapi/",
                 "starlette/", "uvicorn/", "h11/", "json/", "asyncio/timeouts",
                 "twisted/internet/tcp", "sqlite3")  # fmt: skip


CLIENT = "upstream HTTP client (the SDK, httpx, its transport)"

# Each sample goes to the component of the innermost frame that belongs to one (so the shares
# add up to 100%): a JSON call inside the fan-out counts as JSON, the fan-out's own code as
# fan-out. Frames of the event loop and the servers' entry points belong to none.
COMPONENTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("JSON encoding and decoding", ("(json/",)),
    ("asyncio.timeout around each upstream event", ("(asyncio/timeouts.py",)),
    ("SDK chunk objects (openai models, pydantic)", ("(openai/_models.py", "(pydantic")),
    ("database (Django ORM, driver, connecting)", ("(django/db/", "(sqlite3/", "(psycopg")),
    ("handing database calls to a thread (asgiref)", ("(asgiref/", "(concurrent/futures")),
    ("socket reads and writes (transports, selectors)",
     ("(asyncio/selector_events.py", "(selectors.py", "(twisted/internet/tcp.py",
      "(twisted/python/util.py", "(asyncio/trsock.py")),
    # Under ours, h11's frames have no component of their own and count with the transport's.
    (CLIENT,
     ("(httpx", "(httpcore", "(anyio/", "(openai/", "(streaming/transport.py")),
    ("SSE parsing and provider events (streaming/)", ("(streaming/",)),
    ("answer task: coalescing, checkpoints (chat/answers/answer.py, storage.py)",
     ("(chat/answers/answer.py", "(chat/answers/storage.py")),
    ("fan-out and WebSocket send (chat, channels, daphne, autobahn)",
     ("(chat/", "(channels/", "(daphne/ws_protocol", "(daphne/server.py", "(autobahn/",
      "(twisted/")),
    ("HTTP server (uvicorn, h11, starlette, fastapi)",
     ("(uvicorn/protocols", "(starlette/", "(fastapi/", "(bench/baselines")),
)  # fmt: skip
# Inclusive shares of a few functions the recommendations in docs/benchmarks.md rest on.
STARTING = "starting answers (a send's one trip: its sign-in, rows and news)"
DETAILS = {
    "checkpoints (save_checkpoints)": "save_checkpoints (chat/answers/storage.py",
    STARTING: (
        "_send_at_once (chat/",
        "new_answer (chat/",
        "start_with_message (chat/",
        "add_message (chat/",
        "request_for (chat/",
    ),
    "opening database connections (get_new_connection)": "get_new_connection (",
    "closing database connections (_close)": "_close (django/db/",
    "signing sockets in (sessions, auth)": ("(django/contrib/sessions", "(django/contrib/auth"),
    "channel layer (channels/layers.py, channels_redis)": (
        "(channels/layers.py",
        "(channels_redis",
    ),
    "fan-out to local sockets (Audience.send)": "send (chat/answers/audience.py",
    "reading upstream bytes (httpx/httpcore under the provider)": "iter_bytes (openai/_response",
    "SSE parsing (server_sent_events, own code)": "server_sent_events (streaming/sse.py",
}

# Ours runs as ``python -m chat.web.server``: that module is every main-thread stack's root, not
# fan-out (the loop's own time would otherwise count as the fan-out's).
ENTRY_POINTS = (
    "<module> (chat/web/server.py",
    "(daphne/cli.py",
    "(twisted/internet/asyncioreactor.py",
    "Server.run (daphne/",
)


def component(names: list[str]) -> str:
    """The component of the innermost frame that has one; ``names`` run root first."""
    for name in reversed(names):
        if any(entry in name for entry in ENTRY_POINTS):
            continue
        for label, needles in COMPONENTS:
            if any(needle in name for needle in needles):
                return label
    return "event loop and everything else"


def compact(raw: Path) -> None:
    """Fold py-spy's raw stacks (one per thread id and line) into one per thread kind and
    function, gzipped beside it as ``<raw>.gz``, so the file kept in the repository stays
    small."""
    folded: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        parts = stack.split(";")
        head = "MainThread" if "MainThread" in parts[0] else "worker"
        frames_ = [re.sub(r":\d+\)$", ")", p) for p in parts[1:]]
        folded[";".join([head, *frames_])] += int(count)
    with gzip.open(raw.with_name(raw.name + ".gz"), "wt") as out:
        out.writelines(f"{k} {v}\n" for k, v in folded.most_common())
    raw.unlink()


def summarize(raw: Path, top: int = 12) -> dict[str, Any]:
    """Share of samples by leaf package (self) and by function anywhere on the stack (total)."""
    samples = 0
    by_package: Counter[str] = Counter()
    by_self: Counter[str] = Counter()
    by_total: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    buckets: Counter[str] = Counter()
    details: Counter[str] = Counter()
    opener = gzip.open if raw.suffix == ".gz" else open
    with opener(raw, "rt") as f:
        lines = f.read().splitlines()
    for line in lines:
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        samples += n
        thread = stack.split(";", 1)[0]
        threads["main" if "MainThread" in thread else "worker threads"] += n  # after compact()
        found = frames(stack)
        if not found:
            continue
        func, place = found[-1]
        by_package[place] += n
        by_self[f"{func} ({place})"] += n
        ordered = [f"{f} ({p})" for f, p in found]
        for name in set(ordered):
            by_total[name] += n
        buckets[component(ordered)] += n
        for label, needles in DETAILS.items():
            needles = (needles,) if isinstance(needles, str) else needles
            if any(needle in name for name in ordered for needle in needles):
                details[label] += n

    def share(counter: Counter[str], limit: int = top) -> list[tuple[str, float]]:
        return [(k, 100 * v / samples) for k, v in counter.most_common(limit)] if samples else []

    # Totals for the code a frame passes through on its way out, not the frameworks' entry
    # points that every sample has in common.
    inner = Counter(
        {
            name: n
            for name, n in by_total.items()
            if n < 0.35 * samples and any(f"({p}" in name for p in WORTH_A_TOTAL)
        }
    )

    return {
        "samples": samples,
        "threads": share(threads),
        "self_by_place": share(by_package),
        "self_by_function": share(by_self),
        "total_by_function": share(inner, top + 8),
        "components": share(buckets, len(COMPONENTS) + 1),
        "details": {k: 100 * details[k] / samples if samples else 0 for k in DETAILS},
    }
