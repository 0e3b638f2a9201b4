"""Presets in the admin: staff define site-wide ones, checked as the settings API checks them."""

from __future__ import annotations

import pytest

from chat.models import Preset
from tests.admin.factories import make_staff

LIST = "/admin/chat/preset/"
ADD = "/admin/chat/preset/add/"

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client, django_user_model, upstream):
    user = make_staff(
        django_user_model,
        "editor",
        "add_preset",
        "change_preset",
        "view_preset",
        "delete_preset",
    )
    client.force_login(user)
    return client


def test_it_creates_a_site_wide_preset(staff, alice):
    r = staff.post(
        ADD,
        {
            "name": "  Careful  ",
            "owner": "",
            "settings": '{"temperature": 0.1, "model": "openai:gpt-test", "tools": ["calculator"]}',
        },
    )
    assert r.status_code == 302, r.content.decode()
    preset = Preset.objects.get()
    assert preset.name == "Careful"
    assert preset.owner is None
    assert preset.site_wide
    assert preset.settings == {
        "temperature": 0.1,
        "model": "openai:gpt-test",
        "tools": ["calculator"],
    }
    assert [p.name for p in Preset.offered_to(alice)] == ["Careful"]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ('{"temperature": 7}', "temperature: &#x27;temperature&#x27; must be between 0 and 2"),
        ('{"colour": "blue"}', "colour: &#x27;colour&#x27; is not a setting"),
        ('{"model": "openai:not-offered"}', "model: &#x27;model&#x27; must be one of the models"),
        ("[1, 2]", "settings: &#x27;settings&#x27; must be a JSON object"),
        ("{}", "A preset holds at least one setting."),
        ("{nope", "Enter a valid JSON."),
    ],
)
def test_bad_settings_are_a_form_error_naming_the_field(staff, raw, message):
    r = staff.post(ADD, {"name": "Hot", "owner": "", "settings": raw})
    assert r.status_code == 200
    assert r.context["adminform"].form.errors["settings"]
    assert message in r.content.decode()
    assert not Preset.objects.exists()


def test_a_second_site_wide_preset_of_the_same_name_is_refused(staff):
    Preset.objects.create(name="Careful", settings={"temperature": 0.1})
    r = staff.post(ADD, {"name": "Careful", "owner": "", "settings": '{"top_p": 0.5}'})
    assert r.status_code == 200
    assert "There is already a site-wide preset with this name." in r.content.decode()
    assert Preset.objects.count() == 1


def test_it_lists_site_wide_presets_and_users_own(staff, alice):
    Preset.objects.create(name="Careful", settings={"temperature": 0.1})
    Preset.objects.create(owner=alice, name="Alice's", settings={"system_prompt": "x" * 500})
    page = staff.get(LIST).content.decode()
    assert "Careful" in page and "site-wide" in page
    assert "Alice&#x27;s" in page and "alice" in page
    assert "x" * 100 not in page  # long values are shortened
    only_site = staff.get(LIST, {"kind": "site"}).content.decode()
    assert "Careful" in only_site and "Alice&#x27;s" not in only_site


def test_people_who_are_not_staff_are_sent_to_the_login(client, alice):
    client.force_login(alice)
    r = client.get(ADD)
    assert r.status_code == 302
    assert r["Location"].startswith("/admin/login/")
