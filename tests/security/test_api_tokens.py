"""Personal API tokens: stored hashed, shown once, revocable from the tokens page."""

from __future__ import annotations

import hashlib

import pytest
from django.test import Client

from chat.models import APIToken
from chat.web import api_tokens

pytestmark = pytest.mark.django_db


def test_it_shows_a_new_token_once_and_stores_only_its_hash(alice):
    client = Client()
    client.force_login(alice)
    page = client.post("/settings/tokens/", {"name": "laptop"}).content.decode()
    token = page.split('<code id="new-token">')[1].split("</code>")[0]
    assert token.startswith("sc_") and len(token) > 40

    record = APIToken.objects.get(user=alice)
    assert record.digest == hashlib.sha256(token.encode()).hexdigest()
    stored = [str(getattr(record, f.attname)) for f in APIToken._meta.concrete_fields]
    assert not any(token in value for value in stored)
    assert token.startswith(record.prefix) and len(record.prefix) < 12

    assert token not in client.get("/settings/tokens/").content.decode()
    assert api_tokens.authenticate(token) == alice


def test_a_revoked_token_stops_working_at_once(alice):
    client = Client()
    client.force_login(alice)
    record, token = api_tokens.create(alice, "work desktop")
    auth = {"Authorization": f"Bearer {token}"}
    assert Client().post("/api/messages/999999/stop", headers=auth).status_code == 404
    client.post(f"/settings/tokens/{record.pk}/revoke/")
    assert Client().post("/api/messages/999999/stop", headers=auth).status_code == 401
    assert "work desktop" not in client.get("/settings/tokens/").content.decode()


def test_a_deactivated_users_tokens_stop_working(alice):
    _, token = api_tokens.create(alice, "laptop")
    alice.is_active = False
    alice.save()
    assert api_tokens.authenticate(token) is None
