from __future__ import annotations

import gc
import os
import socket
import uuid

import pytest
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

from chat.answers import answer, catalog, checkpoints, journal, processes
from chat.web import ratelimit, sockets

# The live app (a real Daphne process) for end-to-end tests, wherever they live.
pytest_plugins = ["tests.browser.live"]


def service_reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    """Skip when a real service is missing on a developer's machine; fail in CI, where the
    tests that need it must run."""
    if service_reachable(host, port):
        return
    message = f"{name} is not running at {host}:{port}"
    if os.environ.get("CI") == "true":
        pytest.fail(message + " (CI=true: these tests must run)")
    pytest.skip(message)


@pytest.fixture(autouse=True)
def fresh_process_state():
    """Each test runs on its own event loop: forget loop-bound state from the one before."""
    catalog.providers.cache_clear()
    # The providers' HTTP clients dropped by the tests before (whose connections belong to
    # their loops) are collected now, while no loop runs: collected later, during a test, each
    # would close itself on that test's loop, fail there and log an error into it.
    gc.collect()
    ratelimit.frames.reset()
    sockets.open_sockets.reset()
    processes.reset()
    answer.reset()
    journal.reset()
    checkpoints.reset()
    channel_layers.backends.clear()
    yield
    processes.reset()
    answer.reset()
    journal.reset()
    checkpoints.reset()


@pytest.fixture(autouse=True)
def no_generated_titles(settings):
    """Titles are made by the model after a first answer, which would take a scripted answer
    of the fake upstream meant for the test: off unless a test turns it on."""
    settings.GENERATE_TITLES = False


@pytest.fixture(autouse=True)
def attachment_storage(settings, tmp_path_factory):
    """Uploaded files go to a directory of the test's own, never the project's var/."""
    location = tmp_path_factory.mktemp("attachments")
    settings.STORAGES = {
        **settings.STORAGES,
        "attachments": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(location), "base_url": None},
        },
    }
    return location


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice", password="correct horse battery")


@pytest.fixture
def root(django_user_model):
    """A superuser, as the first account of an install is."""
    return django_user_model.objects.create_superuser("root", password="correct horse battery")


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user("bob", password="correct horse battery")


def session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()


async def connect(
    user=None, origin: bytes = b"http://localhost", extensions: dict | None = None
) -> WebsocketCommunicator:
    """A WebSocket to the real ASGI application, signed in as ``user``; ``extensions`` are the
    scope's, as ``chat.web.server`` gives them."""
    from asgiref.sync import sync_to_async

    from chat.asgi import application

    headers = [(b"origin", origin), (b"host", b"localhost")]
    if user is not None:
        headers.append((b"cookie", await sync_to_async(session_cookie)(user)))
    communicator = WebsocketCommunicator(application, "/ws/chat/", headers=headers)
    if extensions is not None:
        communicator.scope["extensions"] = extensions
    connected, _ = await communicator.connect()
    assert connected, "the socket was refused"
    return communicator


async def receive_until(communicator, frame_type: str, timeout: float = 30) -> list[dict]:
    """Every frame up to and including the first of ``frame_type``."""
    frames = []
    while True:
        frame = await communicator.receive_json_from(timeout=timeout)
        frames.append(frame)
        if frame["type"] == frame_type:
            return frames


def assemble(frames: list[dict], message_id: int, part: str = "text") -> str:
    """The text (or, with ``part="reasoning"``, the reasoning) a client following the protocol
    holds after these frames."""
    text = ""
    for frame in frames:
        if (
            frame["type"] == "delta"
            and frame["message"] == message_id
            and frame.get("part", "text") == part
        ):
            assert frame["offset"] <= len(text), f"gap at {frame['offset']} (held {len(text)})"
            text += frame["text"][len(text) - frame["offset"] :]
    return text


User = get_user_model()


@pytest.fixture
def upstream(settings):
    """The fake upstream, serving the OpenAI wire format to the real SDK as ``openai:gpt-test``."""
    from tests.fakes.upstream import FakeUpstream

    with FakeUpstream() as fake:
        settings.OPENAI_API_KEY = "sk-test"
        settings.OPENAI_BASE_URL = fake.openai_base_url
        settings.OPENAI_MODELS = ["gpt-test"]
        yield fake


@pytest.fixture
def shared_services():
    """A fresh PostgreSQL database and Redis database for two server processes to share."""
    import psycopg
    import redis

    require_service("PostgreSQL", "127.0.0.1", 5432)
    require_service("Redis", "127.0.0.1", 6379)
    name = f"scaleout_{uuid.uuid4().hex[:8]}"
    admin = "postgresql://postgres@127.0.0.1:5432/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    redis.Redis.from_url("redis://127.0.0.1:6379/14").flushdb()
    try:
        yield f"postgres://postgres@127.0.0.1:5432/{name}", "redis://127.0.0.1:6379/14"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
