"""The account page in a browser: a forced theme wins over the system's both ways, a new chat
starts on the default model saved there, and the conversations exported there import back."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page, expect

from tests.browser.chat_page import open_chat
from tests.fakes.script import Script

pytestmark = pytest.mark.browser

LIGHT_BG = "rgb(255, 255, 255)"
DARK_BG = "rgb(23, 24, 27)"


def background(page: Page) -> str:
    return page.evaluate("getComputedStyle(document.body).backgroundColor")


def save_preferences(page: Page, theme: str, model: str | None = None) -> None:
    page.get_by_label(theme, exact=True).check()
    if model is not None:
        page.get_by_label("Default model").select_option(model)
    page.get_by_role("button", name="Save preferences").click()
    expect(page.locator(".form-notice")).to_have_text("Your preferences were saved.")


def test_a_forced_theme_wins_over_the_systems(page: Page, live_app):
    chat = open_chat(page, live_app)
    page.emulate_media(color_scheme="light")
    assert background(page) == LIGHT_BG
    page.get_by_role("link", name="Account").click()
    expect(page.get_by_role("heading", name="Account")).to_be_visible()

    save_preferences(page, "Dark")
    assert background(page) == DARK_BG  # a light system, the account page dark
    chat.goto("/")
    assert background(page) == DARK_BG
    assert page.evaluate("getComputedStyle(document.documentElement).colorScheme") == "dark"

    page.emulate_media(color_scheme="dark")
    page.goto(live_app.url + "/settings/account/")
    save_preferences(page, "Light")
    assert background(page) == LIGHT_BG  # a dark system, the page light
    chat.goto("/")
    assert background(page) == LIGHT_BG
    sheets = page.evaluate(
        "[...document.querySelectorAll('link[href*=highlight]')]"
        ".filter((link) => matchMedia(link.media).matches).map((link) => link.href)"
    )
    assert len(sheets) == 1 and sheets[0].endswith("highlight-light.css")

    page.goto(live_app.url + "/settings/account/")
    save_preferences(page, "System")
    assert background(page) == DARK_BG
    page.emulate_media(color_scheme="light")
    assert background(page) == LIGHT_BG
    chat.assert_clean()


def test_a_new_chat_starts_on_the_saved_default_model(page: Page, live_app):
    chat = open_chat(page, live_app)
    model = page.locator("#model")
    expect(model).to_have_value("openai:gpt-test")
    page.goto(live_app.url + "/settings/account/")
    save_preferences(page, "System", "local:smollm2")
    chat.goto("/")
    expect(model).to_have_value("local:smollm2")

    # Another model picked for one chat does not replace the saved default.
    model.select_option("openai:gpt-test")
    chat.goto("/")
    expect(model).to_have_value("local:smollm2")
    chat.assert_clean()


def test_conversations_exported_from_the_page_import_back(page: Page, live_app, tmp_path):
    chat = open_chat(page, live_app)
    live_app.upstream.enqueue(Script(text="Lisbon has trams.", tokens_per_second=300))
    chat.wait_for_status(chat.send("Tell me about Lisbon"), "complete")
    page.goto(live_app.url + "/settings/account/")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export my conversations").click()
    saved = tmp_path / "mine.json"
    download.value.save_as(saved)
    exported = json.loads(saved.read_text())
    assert [m["text"] for m in exported["conversations"][0]["messages"]] == [
        "Tell me about Lisbon",
        "Lisbon has trams.",
    ]

    page.get_by_label("Import conversations").set_input_files(saved)
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.locator(".form-notice")).to_have_text("Imported 1 conversation.")
    chat.goto("/")
    expect(page.locator(".sidebar .conversation")).to_have_count(2)

    # A file that is not an export is refused beside the field, and nothing is added.
    bad = tmp_path / "bad.json"
    bad.write_text('{"conversations": [{"messages": [{"id": 1, "seq": 1, "role": "wizard"}]}]}')
    page.goto(live_app.url + "/settings/account/")
    page.get_by_label("Import conversations").set_input_files(bad)
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.locator("#import-file_error")).to_contain_text("role must be one of")
    chat.goto("/")
    expect(page.locator(".sidebar .conversation")).to_have_count(2)
