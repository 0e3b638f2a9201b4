"""An API request that fails on the database gets the documented JSON error, not a 500 page."""

import pytest
from django.db import OperationalError
from django.test import AsyncClient

from chat import answers
from chat.web import api_tokens

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_database_outage_is_a_503_with_the_unavailable_code(alice, monkeypatch, caplog):
    from asgiref.sync import sync_to_async

    _, token = await sync_to_async(api_tokens.create)(alice, "script")

    async def unreachable(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(answers, "follow", unreachable)
    response = await AsyncClient().get(
        "/api/messages/1/stream", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 503
    assert response.json()["code"] == "unavailable"
    assert "database" in response.json()["detail"]
    assert any("failed on the database" in r.getMessage() for r in caplog.records)
