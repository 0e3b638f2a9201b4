"""The settings API: GET and PUT /api/conversations/<id>/settings."""

import pytest
from asgiref.sync import sync_to_async
from django.test import AsyncClient

from chat.models import Conversation
from chat.web import api_tokens as tokens

pytestmark = pytest.mark.django_db(transaction=True)

DEFAULTS = {
    "system_prompt": "",
    "model": "openai:gpt-test",
    "temperature": None,
    "top_p": None,
    "max_output_tokens": None,
    "reasoning_effort": "off",
    "tools": [],
}


@pytest.fixture
def token(alice):
    return tokens.create(alice, "tests")[1]


@pytest.fixture
def conversation(alice, upstream):
    return Conversation.objects.create(owner=alice, model="openai:gpt-test", title="t")


def url(conversation_id: int) -> str:
    return f"/api/conversations/{conversation_id}/settings"


async def put(client, conversation_id, body, token):
    return await client.put(
        url(conversation_id),
        body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )


async def test_get_gives_every_setting(conversation, token):
    response = await AsyncClient().get(
        url(conversation.pk), headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    assert response.json() == DEFAULTS


async def test_put_changes_what_it_names_and_leaves_the_rest(conversation, token, settings):
    settings.MAX_OUTPUT_TOKENS = 4096
    client = AsyncClient()
    first = await put(
        client,
        conversation.pk,
        {"temperature": 0.3, "system_prompt": "Be brief.", "tools": ["calculator"]},
        token,
    )
    assert first.status_code == 200
    assert first.json() == {
        **DEFAULTS,
        "temperature": 0.3,
        "system_prompt": "Be brief.",
        "tools": ["calculator"],
    }
    second = await put(
        client,
        conversation.pk,
        {"top_p": 0.9, "max_output_tokens": 2000, "temperature": None},
        token,
    )
    expected = {
        **DEFAULTS,
        "system_prompt": "Be brief.",
        "tools": ["calculator"],
        "top_p": 0.9,
        "max_output_tokens": 2000,
        "reasoning_effort": "off",
    }
    assert second.json() == expected
    again = await AsyncClient().get(
        url(conversation.pk), headers={"Authorization": f"Bearer {token}"}
    )
    assert again.json() == expected
    stored = await sync_to_async(Conversation.objects.get)(pk=conversation.pk)
    assert (stored.system_prompt, stored.temperature, stored.top_p) == ("Be brief.", None, 0.9)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"temperature": 2.5}, "temperature"),
        ({"temperature": -0.1}, "temperature"),
        ({"temperature": "hot"}, "temperature"),
        ({"top_p": 0}, "top_p"),
        ({"top_p": 1.5}, "top_p"),
        ({"max_output_tokens": 0}, "max_output_tokens"),
        ({"max_output_tokens": 1025}, "max_output_tokens"),
        ({"max_output_tokens": 10.5}, "max_output_tokens"),
        ({"model": "openai:not-offered"}, "model"),
        ({"reasoning_effort": "extreme"}, "reasoning_effort"),
        ({"tools": ["rm_rf"]}, "tools"),
        ({"tools": "calculator"}, "tools"),
        ({"system_prompt": 42}, "system_prompt"),
        ({"system_prompt": "x" * 33_000}, "system_prompt"),
        ({"colour": "blue"}, "colour"),
        ({"temperature": 0.5, "seed": 1}, "seed"),
    ],
)
async def test_a_bad_value_is_refused_naming_its_field(conversation, token, body, field, settings):
    settings.MAX_OUTPUT_TOKENS = 1024  # the operator's ceiling that 1025 goes over
    response = await put(AsyncClient(), conversation.pk, body, token)
    assert response.status_code == 400
    data = response.json()
    assert data["type"] == "error"
    assert data["code"] == "bad_settings"
    assert data["field"] == field
    assert f"'{field}'" in data["detail"]
    stored = await sync_to_async(Conversation.objects.get)(pk=conversation.pk)
    assert stored.conversation_settings() == DEFAULTS  # nothing changed


async def test_another_users_conversation_is_not_found(conversation, bob):
    other = (await sync_to_async(tokens.create)(bob, "tests"))[1]
    client = AsyncClient()
    got = await client.get(url(conversation.pk), headers={"Authorization": f"Bearer {other}"})
    assert got.status_code == 404
    assert got.json()["code"] == "not_found"
    changed = await put(client, conversation.pk, {"temperature": 1.0}, other)
    assert changed.status_code == 404
    stored = await sync_to_async(Conversation.objects.get)(pk=conversation.pk)
    assert stored.temperature is None


async def test_it_needs_a_token_or_a_session_with_csrf(conversation, alice):
    anonymous = await AsyncClient().get(url(conversation.pk))
    assert anonymous.status_code == 401
    bad = await AsyncClient().get(url(conversation.pk), headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401
    client = AsyncClient(enforce_csrf_checks=True)
    await client.aforce_login(alice)
    assert (await client.get(url(conversation.pk))).status_code == 200
    refused = await client.put(
        url(conversation.pk), {"temperature": 1.0}, content_type="application/json"
    )
    assert refused.status_code == 401
    await client.get("/")  # sets the CSRF cookie
    csrf = client.cookies["csrftoken"].value
    allowed = await client.put(
        url(conversation.pk),
        {"temperature": 1.0},
        content_type="application/json",
        headers={"X-CSRFToken": csrf},
    )
    assert allowed.status_code == 200
    assert allowed.json()["temperature"] == 1.0


async def test_other_methods_are_not_allowed(conversation, token):
    response = await AsyncClient().post(
        url(conversation.pk),
        {},
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 405
