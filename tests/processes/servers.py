"""Real Daphne processes for tests that cross process boundaries."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout.strip()


CREATE_SESSION = """
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
user, _ = get_user_model().objects.get_or_create(username={username!r})
session = SessionStore()
session["_auth_user_id"] = str(user.pk)
session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
session["_auth_user_hash"] = user.get_session_auth_hash()
session.create()
print(session.session_key)
"""


def sign_in(env: dict[str, str], username: str) -> tuple[str, str]:
    """A session cookie value and an API token for ``username`` (created if needed)."""
    session = manage(env, "shell", "-c", CREATE_SESSION.format(username=username))
    token = manage(env, "create_api_token", username)
    return session.splitlines()[-1], token


class Server:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.port = free_port()
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/chat/"

    def start(self) -> Server:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "chat.web.server", "-b", "127.0.0.1", "-p", str(self.port),
                 "chat.asgi:application"],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"daphne exited: {self.log.read_text()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("daphne did not start listening")

    def kill(self) -> None:
        """SIGKILL: no clean-up, as when a machine or an OOM killer takes the process."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def signal(self, number: int) -> None:
        assert self.process is not None
        self.process.send_signal(number)

    def exited(self, timeout: float) -> int | None:
        """The exit code once the process has exited, or None if it still runs after
        ``timeout`` s."""
        assert self.process is not None
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


def server_env(tmp_path: Path, upstream_url: str, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPENAI_", "ANTHROPIC_", "GEMINI_", "GOOGLE_", "DATABASE_", "REDIS_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="chat.settings",
        VAR_DIR=str(tmp_path / "var"),
        DEBUG="true",
        LOG_LEVEL="WARNING",
        OPENAI_API_KEY="sk-test",
        OPENAI_BASE_URL=upstream_url,
        OPENAI_MODELS="gpt-test",
        LOCAL_MODEL_ENABLED="false",
        # A generated title would take a scripted answer; the tests of titles turn it on.
        GENERATE_TITLES="false",
        PYTHONUNBUFFERED="1",
        # Every client of a test comes from 127.0.0.1 (the soak opens hundreds of sockets);
        # the tests of this cap set their own.
        MAX_SOCKETS_PER_ADDRESS="100000",
    )
    env.update(extra)
    return env


@contextmanager
def running(*servers: Server) -> Iterator[None]:
    try:
        for server in servers:
            server.start()
        yield
    finally:
        for server in servers:
            server.stop()


def stored_answer(env: dict[str, str], message_id: int) -> tuple[str, str]:
    """The (status, text) a server's database holds for an answer, read directly."""
    query = "select status, text from chat_message where id = {}"
    url = env.get("DATABASE_URL", "")
    if url:
        import psycopg

        with psycopg.connect(url.replace("postgres://", "postgresql://", 1)) as conn:
            return conn.execute(query.format("%s"), (message_id,)).fetchone()
    import sqlite3

    with contextlib.closing(sqlite3.connect(Path(env["VAR_DIR"]) / "db.sqlite3")) as conn:
        return conn.execute(query.format("?"), (message_id,)).fetchone()


def count_rows(env: dict[str, str], table: str) -> int:
    url = env.get("DATABASE_URL", "")
    if url:
        import psycopg

        with psycopg.connect(url.replace("postgres://", "postgresql://", 1)) as conn:
            return conn.execute(f"select count(*) from {table}").fetchone()[0]
    import sqlite3

    with contextlib.closing(sqlite3.connect(Path(env["VAR_DIR"]) / "db.sqlite3")) as conn:
        return conn.execute(f"select count(*) from {table}").fetchone()[0]
