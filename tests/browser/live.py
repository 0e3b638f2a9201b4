"""The whole app, as `make run` serves it, in a real Daphne process, its models answered by the
fake upstream (and the offline model, which is always there)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fakes.upstream import FakeUpstream
from tests.processes.servers import Server, manage, server_env


@dataclass
class LiveApp:
    server: Server
    upstream: FakeUpstream
    env: dict[str, str]

    @property
    def url(self) -> str:
        return self.server.http

    def manage(self, *args: str) -> str:
        return manage(self.env, *args)


@pytest.fixture
def live_app(tmp_path: Path) -> Iterator[LiveApp]:
    """A fresh install: an empty database, no account yet."""
    with FakeUpstream() as upstream:
        env = server_env(
            tmp_path,
            upstream.openai_base_url,
            LOCAL_MODEL_ENABLED="true",
            DEFAULT_MODEL="openai:gpt-test",
            ALLOWED_HOSTS="127.0.0.1,localhost",
        )
        manage(env, "migrate", "--noinput")
        server = Server(env, tmp_path / "server.log").start()
        try:
            yield LiveApp(server, upstream, env)
        finally:
            server.stop()
