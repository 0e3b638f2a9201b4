"""Password guessing: after 5 failures in 15 minutes, per username and per address, sign-in is
refused with a clear message, on the site and in the admin."""

from __future__ import annotations

import logging
import time

import pytest
from django.core.cache import cache
from django.test import Client

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def empty_cache(settings):
    # A fast hash keeps dozens of sign-ins quick; the throttle does not depend on it.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()
    yield
    cache.clear()


def sign_in(username: str, password: str, address: str = "203.0.113.1", url: str = "/login/"):
    client = Client(REMOTE_ADDR=address)
    response = client.post(url, {"username": username, "password": password})
    return client, response


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_it_refuses_a_username_after_five_failures_even_with_the_right_password(alice):
    for n in range(5):
        _, response = sign_in("alice", f"guess {n}", address=f"203.0.113.{n + 1}")
        assert response.status_code == 200
        assert "Please enter a correct username and password" in response.content.decode()
    client, response = sign_in("alice", PASSWORD, address="198.51.100.7")
    assert response.status_code == 429
    assert "Too many failed sign-ins. Wait 15 minutes and try again." in response.content.decode()
    assert not signed_in(client)


def test_it_refuses_an_address_after_five_failures_whatever_the_username(alice, bob):
    for n in range(5):
        sign_in(f"someone{n}", "guess", address="203.0.113.9")
    client, response = sign_in("alice", PASSWORD, address="203.0.113.9")
    assert response.status_code == 429
    assert not signed_in(client)
    # Another address is not affected.
    client, response = sign_in("bob", PASSWORD, address="198.51.100.7")
    assert response.status_code == 302
    assert signed_in(client)


def test_it_lets_four_failures_through(alice):
    for n in range(4):
        sign_in("alice", f"guess {n}")
    client, response = sign_in("alice", PASSWORD)
    assert response.status_code == 302
    assert signed_in(client)


def test_a_success_forgives_the_usernames_failures_but_not_the_addresses(alice):
    for n in range(4):
        sign_in("alice", f"guess {n}", address=f"203.0.113.{n + 1}")
    client, _ = sign_in("alice", PASSWORD, address="198.51.100.1")
    assert signed_in(client)
    for n in range(4):
        sign_in("alice", f"guess {n}", address=f"203.0.113.{n + 10}")
    client, _ = sign_in("alice", PASSWORD, address="198.51.100.2")
    assert signed_in(client)

    for n in range(4):
        sign_in(f"other{n}", "guess", address="192.0.2.1")
    client, _ = sign_in("alice", PASSWORD, address="192.0.2.1")  # a success from there...
    sign_in("mallory", "guess", address="192.0.2.1")  # ...does not reset the address
    client, response = sign_in("alice", PASSWORD, address="192.0.2.1")
    assert response.status_code == 429


def test_usernames_are_counted_whatever_their_case(alice):
    for n, name in enumerate(["alice", "Alice", "ALICE", " alice", "aLiCe"]):
        sign_in(name, "guess", address=f"203.0.113.{n + 1}")
    _, response = sign_in("alice", PASSWORD, address="198.51.100.7")
    assert response.status_code == 429


def test_the_limit_lifts_when_the_window_ends(alice, settings):
    settings.LOGIN_FAILURE_WINDOW = 4
    for n in range(5):
        sign_in("alice", f"guess {n}")
    _, response = sign_in("alice", PASSWORD)
    assert response.status_code == 429
    deadline = time.monotonic() + 20
    while True:
        client, response = sign_in("alice", PASSWORD)
        if response.status_code == 302 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert signed_in(client)


def test_the_admin_sign_in_is_throttled_too(django_user_model):
    django_user_model.objects.create_superuser("root", password=PASSWORD)
    url = "/admin/login/?next=/admin/"
    for n in range(5):
        _, response = sign_in("root", f"guess {n}", address=f"203.0.113.{n + 1}", url=url)
        assert response.status_code == 200
    client, response = sign_in("root", PASSWORD, address="198.51.100.7", url=url)
    assert "Too many failed sign-ins" in response.content.decode()
    assert not signed_in(client)
    assert Client().get("/admin/").status_code == 302


def test_it_logs_each_failure_without_the_password(alice, caplog):
    with caplog.at_level(logging.WARNING, logger="chat.web.ratelimit"):
        sign_in("alice", "hunter2-secret", address="203.0.113.5")
    [record] = [r for r in caplog.records if r.name == "chat.web.ratelimit"]
    assert "alice" in record.getMessage() and "203.0.113.5" in record.getMessage()
    assert "hunter2-secret" not in caplog.text
