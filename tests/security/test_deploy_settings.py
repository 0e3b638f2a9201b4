"""Production settings: `manage.py check --deploy` passes with the documented variables, and a bad
value stops start-up naming its variable."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.processes.servers import ROOT

SECRET = "k3Jx9-production-secret-key-of-more-than-fifty-chars-Qw8z2Lp7Rt4Vn6Bm"

# docs/security.md, "Production settings".
PRODUCTION = {"DEBUG": "false", "SECRET_KEY": SECRET, "ALLOWED_HOSTS": "chat.example.com"}
BEHIND_A_PROXY = {**PRODUCTION, "SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto: https"}


def manage(tmp_path, variables: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS") and not k.startswith("SECURE_")
    }
    env.update(VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="chat.settings", **variables)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("variables", [PRODUCTION, BEHIND_A_PROXY], ids=["direct", "proxy"])
def test_it_passes_the_deploy_check_without_a_warning(tmp_path, variables):
    result = manage(tmp_path, variables, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("relaxed", "warning"),
    [
        ({"SECURE_COOKIES": "false"}, "security.W012"),
        ({"SECURE_SSL_REDIRECT": "false"}, "security.W008"),
        ({"SECURE_HSTS_SECONDS": "0"}, "security.W004"),
    ],
)
def test_it_warns_when_production_is_relaxed(tmp_path, relaxed, warning):
    result = manage(
        tmp_path, {**PRODUCTION, **relaxed}, "check", "--deploy", "--fail-level", "WARNING"
    )
    assert result.returncode != 0
    assert warning in result.stdout + result.stderr


def test_it_reads_the_proxy_header_as_django_wants_it(tmp_path):
    result = manage(
        tmp_path,
        BEHIND_A_PROXY,
        "shell",
        "-c",
        "from django.conf import settings; print(settings.SECURE_PROXY_SSL_HEADER)",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "('HTTP_X_FORWARDED_PROTO', 'https')"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SECURE_PROXY_SSL_HEADER", "https"),
        ("SECURE_PROXY_SSL_HEADER", "X Forwarded: https"),
        ("SECURE_SSL_REDIRECT", "sometimes"),
        ("SECURE_HSTS_SECONDS", "a year"),
        ("SECURE_COOKIES", "maybe"),
        ("CACHE_URL", "memcached://127.0.0.1:11211"),
        ("LOGIN_FAILURES_PER_USERNAME", "0"),
        ("LOGIN_FAILURES_PER_IP", "many"),
        ("LOGIN_FAILURE_WINDOW_S", "-5"),
        ("FRAME_RATE_BURST", "lots"),
        ("FRAME_RATE_PER_S", "0"),
        ("MAX_SOCKETS_PER_USER", "0"),
        ("MAX_SOCKETS_PER_ADDRESS", "fifty"),
        ("MAX_SOCKET_BACKLOG_BYTES", "1000"),
        ("OPENAI_API", "assistants"),
        ("MAX_OUTPUT_TOKENS", "0"),
        ("MAX_OUTPUT_TOKENS", "long"),
        ("MODEL_OUTPUT_TOKENS", "openai:my-model"),
        ("MODEL_OUTPUT_TOKENS", "openai:my-model=0"),
        ("MODEL_CAPABILITIES", "openai:my-model"),
        ("MODEL_CAPABILITIES", "openai:my-model=sight"),
    ],
)
def test_it_refuses_to_start_on_a_bad_value_naming_the_variable(tmp_path, name, value):
    result = manage(tmp_path, {name: value}, "check")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert name in result.stderr.strip().splitlines()[-1]
