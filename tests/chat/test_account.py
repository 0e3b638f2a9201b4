"""The account page: a new password (the old one no longer signs in, this session stays), the
theme on every page's <html>, and the model a new chat starts with."""

from __future__ import annotations

import pytest
from django.test import Client

from chat.models import Preferences
from tests.chat.test_pages import page_data

pytestmark = pytest.mark.django_db

OLD = "correct horse battery"
NEW = "a brand new staple 42"


@pytest.fixture
def two_models(settings):
    settings.OPENAI_API_KEY = "sk-test"
    settings.OPENAI_BASE_URL = "http://127.0.0.1:9/v1"
    settings.OPENAI_MODELS = ["gpt-one", "gpt-two"]
    settings.DEFAULT_MODEL = "openai:gpt-one"


@pytest.fixture
def signed_in(alice) -> Client:
    client = Client()
    assert client.login(username="alice", password=OLD)
    return client


def change_password(client: Client, old: str, new: str):
    return client.post(
        "/settings/account/",
        {"form": "password", "old_password": old, "new_password1": new, "new_password2": new},
    )


def test_it_needs_a_sign_in():
    response = Client().get("/settings/account/")
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_it_changes_the_password_and_keeps_this_session(alice, signed_in):
    response = change_password(signed_in, OLD, NEW)
    assert response.status_code == 302
    page = signed_in.get("/settings/account/")
    assert page.status_code == 200  # still signed in
    assert "Your password was changed." in page.content.decode()
    assert not Client().login(username="alice", password=OLD)
    assert Client().login(username="alice", password=NEW)


def test_a_wrong_current_password_is_a_form_error(alice, signed_in):
    response = change_password(signed_in, "not my password", NEW)
    assert response.status_code == 400
    html = response.content.decode()
    assert "has-error" in html
    assert "Your old password was entered incorrectly" in html
    assert Client().login(username="alice", password=OLD)


def test_the_theme_is_saved_and_forced_on_the_pages(alice, signed_in, two_models):
    assert '<html lang="en">' in signed_in.get("/").content.decode()
    response = signed_in.post("/settings/account/", {"form": "preferences", "theme": "dark"})
    assert response.status_code == 302
    assert Preferences.objects.get(user=alice).theme == "dark"
    html = signed_in.get("/").content.decode()
    assert '<html lang="en" data-theme="dark">' in html
    assert '<meta name="color-scheme" content="dark">' in html
    assert 'highlight-dark.css" media="all"' in html
    assert 'highlight-light.css" media="not all"' in html
    assert 'data-theme="dark"' in signed_in.get("/settings/account/").content.decode()

    signed_in.post("/settings/account/", {"form": "preferences", "theme": "system"})
    html = signed_in.get("/").content.decode()
    assert '<html lang="en">' in html
    assert 'media="(prefers-color-scheme: dark)"' in html


def test_a_new_chat_starts_on_the_saved_default_model(alice, signed_in, two_models):
    html = signed_in.get("/").content.decode()
    assert '<option value="openai:gpt-one" selected>' in html
    response = signed_in.post(
        "/settings/account/",
        {"form": "preferences", "theme": "system", "default_model": "openai:gpt-two"},
    )
    assert response.status_code == 302
    assert Preferences.objects.get(user=alice).default_model == "openai:gpt-two"
    html = signed_in.get("/").content.decode()
    assert '<option value="openai:gpt-two" selected>' in html
    assert "data-saved-default" in html
    page_data(signed_in.get("/"))  # the page still renders its data


def test_only_offered_models_are_accepted(alice, signed_in, two_models):
    response = signed_in.post(
        "/settings/account/",
        {"form": "preferences", "theme": "light", "default_model": "openai:gpt-elsewhere"},
    )
    assert response.status_code == 400
    assert "has-error" in response.content.decode()
    assert not Preferences.objects.filter(user=alice).exists()
    response = signed_in.post("/settings/account/", {"form": "preferences", "theme": "purple"})
    assert response.status_code == 400


def test_a_default_no_longer_offered_falls_back_to_the_sites(alice, signed_in, two_models):
    Preferences.objects.create(user=alice, default_model="openai:gpt-gone")
    html = signed_in.get("/").content.decode()
    assert '<option value="openai:gpt-one" selected>' in html
    assert "data-saved-default" not in html
