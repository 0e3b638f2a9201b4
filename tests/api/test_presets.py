"""The presets API: GET and POST /api/presets, DELETE /api/presets/<id>."""

import pytest
from asgiref.sync import sync_to_async
from django.test import AsyncClient

from chat.models import Preset
from chat.web import api_tokens as tokens

pytestmark = pytest.mark.django_db(transaction=True)

BRIEF = {"system_prompt": "Be brief.", "temperature": 0.2, "tools": ["calculator"]}


@pytest.fixture
def token(alice, upstream):
    return tokens.create(alice, "tests")[1]


@pytest.fixture
def bobs_token(bob):
    return tokens.create(bob, "tests")[1]


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def listed(token: str) -> list[dict]:
    response = await AsyncClient().get("/api/presets", headers=auth(token))
    assert response.status_code == 200
    return response.json()["presets"]


async def create(token: str, body: object):
    return await AsyncClient().post(
        "/api/presets", body, content_type="application/json", headers=auth(token)
    )


async def test_it_creates_a_preset_and_lists_it(token):
    assert await listed(token) == []
    response = await create(token, {"name": "  Brief  ", "settings": BRIEF})
    assert response.status_code == 201
    preset = response.json()
    assert preset == {"id": preset["id"], "name": "Brief", "site": False, "settings": BRIEF}
    assert await listed(token) == [preset]


async def test_it_keeps_every_setting(token):
    everything = {
        "system_prompt": "Talk like a pirate.",
        "model": "openai:gpt-test",
        "temperature": 1,
        "top_p": 0.5,
        "max_output_tokens": 200,
        "reasoning_effort": "high",
        "tools": ["calculator", "calculator"],
    }
    response = await create(token, {"name": "Pirate", "settings": everything})
    assert response.status_code == 201
    # As the validator takes them: numbers as numbers, each tool once.
    taken = {**everything, "temperature": 1.0, "tools": ["calculator"]}
    assert response.json()["settings"] == taken


async def test_the_same_name_again_replaces_its_settings(token, alice):
    first = (await create(token, {"name": "Brief", "settings": BRIEF})).json()
    again = await create(token, {"name": "Brief ", "settings": {"top_p": 0.9}})
    assert again.status_code == 200
    assert again.json() == {**first, "settings": {"top_p": 0.9}}
    assert await listed(token) == [again.json()]
    assert await sync_to_async(Preset.objects.filter(owner=alice).count)() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"settings": BRIEF}, "name"),
        ({"name": "", "settings": BRIEF}, "name"),
        ({"name": "   ", "settings": BRIEF}, "name"),
        ({"name": 7, "settings": BRIEF}, "name"),
        ({"name": "x" * 101, "settings": BRIEF}, "name"),
        ({"name": "Hot"}, "settings"),
        ({"name": "Hot", "settings": []}, "settings"),
        ({"name": "Hot", "settings": {}}, "settings"),
        ({"name": "Hot", "settings": {"temperature": 2.5}}, "temperature"),
        ({"name": "Hot", "settings": {"top_p": 0}}, "top_p"),
        ({"name": "Hot", "settings": {"max_output_tokens": 0}}, "max_output_tokens"),
        ({"name": "Hot", "settings": {"model": "openai:not-offered"}}, "model"),
        ({"name": "Hot", "settings": {"reasoning_effort": "extreme"}}, "reasoning_effort"),
        ({"name": "Hot", "settings": {"tools": ["rm_rf"]}}, "tools"),
        ({"name": "Hot", "settings": {"system_prompt": 42}}, "system_prompt"),
        ({"name": "Hot", "settings": {"colour": "blue"}}, "colour"),
    ],
)
async def test_a_bad_preset_is_refused_naming_its_field(token, body, field):
    response = await create(token, body)
    assert response.status_code == 400
    data = response.json()
    assert (data["type"], data["code"], data["field"]) == ("error", "bad_settings", field)
    assert f"'{field}'" in data["detail"]
    assert await sync_to_async(Preset.objects.count)() == 0


async def test_a_body_that_is_not_an_object_is_refused(token):
    response = await create(token, ["Brief"])
    assert response.status_code == 400
    assert response.json()["code"] == "bad_frame"


async def test_it_deletes_the_users_own_preset(token):
    preset = (await create(token, {"name": "Brief", "settings": BRIEF})).json()
    client = AsyncClient()
    deleted = await client.delete(f"/api/presets/{preset['id']}", headers=auth(token))
    assert deleted.status_code == 204
    assert await listed(token) == []
    again = await client.delete(f"/api/presets/{preset['id']}", headers=auth(token))
    assert again.status_code == 404
    assert again.json()["code"] == "not_found"


async def test_another_users_presets_are_neither_listed_nor_deletable(token, bobs_token):
    preset = (await create(token, {"name": "Brief", "settings": BRIEF})).json()
    assert await listed(bobs_token) == []
    response = await AsyncClient().delete(f"/api/presets/{preset['id']}", headers=auth(bobs_token))
    assert response.status_code == 404
    # Bob may have a preset of the same name: names are each user's own.
    bobs = await create(bobs_token, {"name": "Brief", "settings": {"top_p": 0.5}})
    assert bobs.status_code == 201
    assert await listed(token) == [preset]


async def test_site_wide_presets_come_first_and_cannot_be_deleted(token, bobs_token, alice):
    site = await sync_to_async(Preset.objects.create)(name="Zesty", settings={"temperature": 1.5})
    await sync_to_async(Preset.objects.create)(name="Careful", settings={"temperature": 0.1})
    mine = (await create(token, {"name": "Apple", "settings": BRIEF})).json()
    names = [(p["name"], p["site"]) for p in await listed(token)]
    assert names == [("Careful", True), ("Zesty", True), ("Apple", False)]
    assert [p["name"] for p in await listed(bobs_token)] == ["Careful", "Zesty"]

    response = await AsyncClient().delete(f"/api/presets/{site.pk}", headers=auth(token))
    assert response.status_code == 404
    assert await sync_to_async(Preset.objects.filter(pk=site.pk).exists)()
    # A user's preset may share a site-wide one's name; it does not replace it.
    same = await create(token, {"name": "Zesty", "settings": {"top_p": 0.3}})
    assert same.status_code == 201
    stored = await sync_to_async(Preset.objects.get)(pk=site.pk)
    assert stored.settings == {"temperature": 1.5}
    assert mine in await listed(token)


async def test_it_needs_a_token_or_a_session_with_csrf(alice, upstream):
    assert (await AsyncClient().get("/api/presets")).status_code == 401
    bad = await AsyncClient().get("/api/presets", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401
    body = {"name": "Brief", "settings": BRIEF}

    client = AsyncClient(enforce_csrf_checks=True)
    await client.aforce_login(alice)
    assert (await client.get("/api/presets")).status_code == 200
    refused = await client.post("/api/presets", body, content_type="application/json")
    assert refused.status_code == 401
    await client.get("/")  # sets the CSRF cookie
    csrf = {"X-CSRFToken": client.cookies["csrftoken"].value}
    created = await client.post("/api/presets", body, content_type="application/json", headers=csrf)
    assert created.status_code == 201
    preset_url = f"/api/presets/{created.json()['id']}"
    assert (await client.delete(preset_url)).status_code == 401
    assert (await client.delete(preset_url, headers=csrf)).status_code == 204


async def test_other_methods_are_not_allowed(token):
    client = AsyncClient()
    assert (await client.put("/api/presets", {}, headers=auth(token))).status_code == 405
    assert (await client.get("/api/presets/1", headers=auth(token))).status_code == 405


def test_the_chat_page_carries_the_presets_and_their_addresses(client, alice, bob, upstream):
    Preset.objects.create(name="Site", settings={"temperature": 1.0})
    Preset.objects.create(owner=alice, name="Mine", settings={"top_p": 0.5})
    Preset.objects.create(owner=bob, name="Bob's", settings={"top_p": 0.1})
    client.force_login(alice)
    data = client.get("/").context["page_data"]
    assert [(p["name"], p["site"]) for p in data["presets"]] == [("Site", True), ("Mine", False)]
    assert data["urls"]["presets"] == "/api/presets"
    assert data["urls"]["preset"] == "/api/presets/{id}"
