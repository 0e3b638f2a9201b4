"""Starting and stopping what the benchmarks talk to, all on 127.0.0.1.

- the fake upstream (``python -m tests.fakes.upstream``), one process shared by every server;
- our server: ``python -m chat.web.server`` (Daphne, as ``make run`` serves it) on
  ``chat.asgi:application`` with its own temporary ``VAR_DIR`` and database (SQLite, or a
  PostgreSQL database made for the run and dropped after it);
- the baseline: uvicorn on ``bench.baselines.fastapi_sse:app``.

Each is a ``Process`` whose CPU time and resident memory are read from ``/proc``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg

HOME = Path(__file__).resolve().parent.parent
# The application under test; another checkout (a scratch copy with a change to try) can be
# measured with the same benchmarks by pointing BENCH_APP_ROOT at it.
ROOT = Path(os.environ.get("BENCH_APP_ROOT") or HOME).resolve()
BIN = Path(sys.executable).parent
LOOPBACK = "127.0.0.1"
TICKS = os.sysconf("SC_CLK_TCK")
POSTGRES_ADMIN_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379")
MODEL = "openai:bench"


def child_env(**values: str) -> dict[str, str]:
    """The environment of a child process: ours, with the benchmarks importable."""
    env = dict(os.environ, **values)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(HOME), env.get("PYTHONPATH")) if p)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection((LOOPBACK, port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listened on port {port} within {within:g} s")


class Process:
    """A child process, its CPU seconds and its resident memory."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], log: Path) -> None:
        self.name = name
        self.log = log
        self.logfile = log.open("ab")
        self.popen = subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=self.logfile, stderr=subprocess.STDOUT
        )
        self.port = 0

    @property
    def pid(self) -> int:
        return self.popen.pid

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime

    def rss_bytes(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def listen(self, port: int) -> None:
        self.port = port
        try:
            wait_for_port(port, self.popen)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self.logfile.close()


class Fake(Process):
    def __init__(self, workdir: Path) -> None:
        port = free_port()
        command = [sys.executable, "-m", "tests.fakes.upstream", "--port", str(port)]
        super().__init__("fake upstream", command, child_env(), workdir / "fake.log")
        self.url = f"http://{LOOPBACK}:{port}"
        self.listen(port)

    def control(self, path: str, payload: dict[str, Any] | None = None) -> Any:
        import urllib.request

        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(
            self.url + path, data=data, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def first_tokens(self) -> dict[str, float]:
        """When the fake wrote each tagged request's first token, by tag."""
        found = {}
        for record in self.control("/_fake/requests")["requests"]:
            text = json.dumps(record["body"].get("messages", []))
            match = re.search(r"bench-(\w+)", text)
            if match and record["first_token_at"] is not None:
                found[match.group(1)] = record["first_token_at"]
        return found

    def reset(self) -> None:
        self.control("/_fake/reset", {})


class Database:
    """A database for one of our servers: SQLite in ``workdir``, or PostgreSQL made for the run."""

    def __init__(self, workdir: Path, postgres: bool) -> None:
        self.postgres = postgres
        if postgres:
            self.name = f"bench_{uuid.uuid4().hex[:10]}"
            with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{self.name}"')
            self.url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + self.name
        else:
            self.name = "sqlite"
            self.url = f"sqlite:///{workdir / 'db.sqlite3'}"

    def writes(self, table: str = "chat_message") -> dict[str, int]:
        """Rows inserted, updated and deleted in ``table`` so far (PostgreSQL's statistics)."""
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("SELECT pg_stat_clear_snapshot()")
            row = conn.execute(
                "SELECT n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables"
                " WHERE relname = %s",
                (table,),
            ).fetchone()
        return {"ins": row[0], "upd": row[1], "del": row[2]}

    def drop(self) -> None:
        if self.postgres:
            with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def ours_env(fake: Fake, workdir: Path, database: Database, redis_db: int | None) -> dict[str, str]:
    env = child_env()
    env.update(
        VAR_DIR=str(workdir),
        DATABASE_URL=database.url,
        SECRET_KEY="bench-" + "k" * 50,
        # As deployed (DEBUG on logs every query, a second query each on SQLite), over plain
        # HTTP on 127.0.0.1.
        DEBUG="false",
        SECURE_SSL_REDIRECT="false",
        SECURE_COOKIES="false",
        LOG_LEVEL="WARNING",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        OPENAI_BASE_URL=fake.url + "/v1",
        OPENAI_API_KEY="bench",
        OPENAI_MODELS="bench",
        # Users may hold more sockets than a person would (up to five each for the idle
        # sockets), so their per-user limits are lifted: the figures are
        # of the streaming path, not of the limits.
        MAX_CONCURRENT_GENERATIONS="100000",
        FRAME_RATE_BURST="1000000",
        FRAME_RATE_PER_S="1000000",
        MAX_SOCKETS_PER_USER="1000000",
        MAX_SOCKETS_PER_ADDRESS="1000000",
        # A new conversation's title is asked of its model after the first answer: with the
        # fake upstream, another answer as long as the first, its tokens and first token
        # counted as the answer's (its request carries the same tag).
        GENERATE_TITLES="false",
        DJANGO_SETTINGS_MODULE="chat.settings",
    )
    env.pop("REDIS_URL", None)
    if redis_db is not None:
        env["REDIS_URL"] = f"{REDIS_URL}/{redis_db}"
    return env


# Signed-in users, whose sessions the load generator's sockets take in turn: about one per
# socket, as people chatting (each user's other tabs are told of every message sent, so a
# handful of users behind a hundred sockets would multiply every send by its fan-out).
USERS = 200


def prepare(env: dict[str, str], users: int = USERS) -> list[str]:
    """Migrate the database and sign ``users`` users in; their session keys."""
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        env=env,
        cwd=ROOT,
        check=True,
    )
    out = subprocess.run(
        [sys.executable, "-m", "bench.accounts", str(users)],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


class Ours(Process):
    def __init__(
        self, env: dict[str, str], log: Path, name: str = "ours", module: str = "chat.web.server"
    ) -> None:
        port = free_port()
        command = [sys.executable, "-m", module, "-b", LOOPBACK, "-p", str(port),
                   "chat.asgi:application"]  # fmt: skip
        super().__init__(name, command, env, log)
        self.listen(port)


class Baseline(Process):
    def __init__(self, fake: Fake, log: Path) -> None:
        port = free_port()
        env = child_env(OPENAI_BASE_URL=fake.url + "/v1", OPENAI_API_KEY="bench")
        command = [
            str(BIN / "uvicorn"),
            "bench.baselines.fastapi_sse:app",
            "--host",
            LOOPBACK,
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ]
        super().__init__("baseline", command, env, log)
        self.listen(port)


def redis_flush(db: int) -> None:
    subprocess.run(
        ["redis-cli", "-u", f"{REDIS_URL}/{db}", "FLUSHDB"], check=True, capture_output=True
    )


@contextlib.contextmanager
def workspace() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="bench-"))
    try:
        yield path
    finally:
        if os.environ.get("BENCH_KEEP"):  # the servers' logs, to read after a failure
            print(f"kept {path}", file=sys.stderr)
        else:
            shutil.rmtree(path, ignore_errors=True)


class Stack(contextlib.ExitStack):
    """Everything started for a run, stopped in reverse order whatever happens."""

    def start(self, process: Process) -> Any:
        self.callback(process.stop)
        return process
