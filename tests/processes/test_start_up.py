"""What a server process does before it serves its first request."""

import json
import subprocess
import sys

from tests.processes.servers import ROOT, server_env

SDKS = ("openai", "anthropic", "google.genai")

IMPORTED = """
import json, sys
import django
django.setup()
before = {{m: m in sys.modules for m in {sdks!r}}}
import chat.asgi
after = {{m: m in sys.modules for m in {sdks!r}}}
print(json.dumps([before, after]))
"""


def test_the_configured_providers_sdks_are_imported_before_serving(tmp_path):
    # A fresh interpreter: the test process's own imports would hide the result.
    env = server_env(
        tmp_path,
        "http://127.0.0.1:9/openai/v1",
        ANTHROPIC_API_KEY="sk-ant-test",
        ANTHROPIC_MODELS="claude-test",
        GEMINI_API_KEY="gemini-test-key",
        GEMINI_MODELS="gemini-test",
    )
    result = subprocess.run(
        [sys.executable, "-c", IMPORTED.format(sdks=SDKS)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    before, after = json.loads(result.stdout.strip().splitlines()[-1])
    assert not any(before.values()), f"imported by Django's set-up already: {before}"
    assert all(after.values()), f"not imported when the ASGI application is: {after}"


def test_outside_daphne_the_application_neither_imports_a_reactor_nor_waits_on_stops(tmp_path):
    # The daphne app installs Twisted's asyncio reactor when Django is set up; the application
    # must not import one itself (where none is installed that would pick Twisted's default),
    # nor act as if Daphne served it when no reactor runs.
    env = server_env(tmp_path, "http://127.0.0.1:9/openai/v1")
    check = (
        "import sys, django; django.setup(); import twisted.internet as ti; "
        "sys.modules.pop('twisted.internet.reactor'); del ti.reactor; "
        "import chat.asgi; "
        "print('twisted.internet.reactor' in sys.modules, chat.asgi.application.hold_on_stop)"
    )
    result = subprocess.run(
        [sys.executable, "-c", check],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False False"


LOOP_OF_THE_REACTOR = (
    "import chat.web.server; from twisted.internet import reactor; "
    "print(type(reactor._asyncioEventloop).__module__.split('.')[0])"
)


def loop_of_the_server(tmp_path, **values: str) -> subprocess.CompletedProcess:
    env = server_env(tmp_path, "http://127.0.0.1:9/openai/v1", **values)
    return subprocess.run(
        [sys.executable, "-c", LOOP_OF_THE_REACTOR],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_the_server_runs_its_reactor_on_uvloop_unless_told_asyncio(tmp_path):
    default = loop_of_the_server(tmp_path)
    assert default.returncode == 0, default.stderr
    assert default.stdout.strip().splitlines()[-1] == "uvloop"
    plain = loop_of_the_server(tmp_path, EVENT_LOOP="asyncio")
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.strip().splitlines()[-1] == "asyncio"


def test_an_unknown_event_loop_stops_the_server_naming_the_setting(tmp_path):
    result = loop_of_the_server(tmp_path, EVENT_LOOP="trio")
    assert result.returncode != 0
    assert "EVENT_LOOP must be uvloop or asyncio, not 'trio'" in result.stderr
