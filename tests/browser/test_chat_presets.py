"""Settings presets in the settings panel: the panel's settings saved as a preset from the
keyboard, a new chat started from it after a reload (its settings stored with the
conversation), an open conversation's fields filled from one, site-wide presets offered and
not deletable, the user's own deleted."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.chat_page import ChatPage, open_chat
from tests.browser.test_chat_settings import answered, open_by_keyboard

pytestmark = pytest.mark.browser

INSTRUCTIONS = "Answer like a ship's captain."
CAPTAIN = {
    "system_prompt": INSTRUCTIONS,
    "model": "openai:gpt-test",
    "temperature": 0.4,
    "top_p": 0.8,
    "max_output_tokens": 300,
    "reasoning_effort": "low",
    "tools": ["calculator"],
}


def tab_to(page: Page, target: Locator, *, back: bool = False) -> None:
    for _ in range(20):
        if target.evaluate("(el) => el === document.activeElement"):
            break
        page.keyboard.press("Shift+Tab" if back else "Tab")
    expect(target).to_be_focused()


def create_presets(chat: ChatPage, live_app, code: str) -> None:
    live_app.manage(
        "shell",
        "-c",
        f"from django.contrib.auth.models import User\nfrom chat.models import Preset\n{code}",
    )
    chat.goto(chat.page.url)


def stored_presets(page: Page) -> list[dict]:
    return page.request.get(page.url.split("/c/")[0].rstrip("/") + "/api/presets").json()["presets"]


def test_a_preset_saved_from_the_keyboard_starts_a_new_chat_after_a_reload(page: Page, live_app):
    sent: list[str] = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(payload)))
    chat = open_chat(page, live_app)

    dialog = open_by_keyboard(page, chat)
    page.keyboard.type(INSTRUCTIONS)  # the focus is in Instructions
    dialog.get_by_label("Temperature").fill("0.4")
    dialog.get_by_label("Top p").fill("0.8")
    dialog.get_by_label("Maximum output tokens").fill("300")
    dialog.get_by_label("Reasoning effort").select_option("low")
    dialog.get_by_label("calculator").check()

    save_as = dialog.get_by_role("button", name="Save as preset…")
    tab_to(page, save_as)
    page.keyboard.press("Enter")
    name = dialog.get_by_label("Preset name")
    expect(name).to_be_focused()
    page.keyboard.type("Captain")
    with page.expect_response(lambda r: r.request.method == "POST") as saving:
        page.keyboard.press("Enter")  # saves the preset, not the panel
    assert saving.value.status == 201
    assert saving.value.request.post_data_json == {"name": "Captain", "settings": CAPTAIN}
    picker = dialog.get_by_label("Preset", exact=True)
    expect(picker).to_be_focused()
    expect(picker.locator("option:checked")).to_have_text("Captain")
    expect(dialog.locator("#settings-preset-note")).to_have_text("Saved as preset “Captain”.")
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")  # the panel's own edits are not kept
    expect(dialog).to_be_hidden()

    chat.goto("/")  # a new chat, the preset in the page data
    composer = page.locator("#composer")
    composer.get_by_label("Model", exact=True).select_option("local:smollm2")
    dialog = open_by_keyboard(page, chat)
    expect(dialog.get_by_label("Instructions")).to_have_value("")
    picker = dialog.get_by_label("Preset", exact=True)
    tab_to(page, picker, back=True)
    page.keyboard.press("ArrowDown")  # from "Choose a preset…" to Captain
    expect(dialog.locator("#settings-preset-note")).to_have_text(
        "“Captain” is set for this new chat."
    )
    expect(dialog.get_by_label("Instructions")).to_have_value(INSTRUCTIONS)
    expect(dialog.get_by_label("Model", exact=True)).to_have_value("openai:gpt-test")
    expect(dialog.get_by_label("Temperature")).to_have_value("0.4")
    expect(dialog.get_by_label("Top p")).to_have_value("0.8")
    expect(dialog.get_by_label("Maximum output tokens")).to_have_value("300")
    expect(dialog.get_by_label("Reasoning effort")).to_have_value("low")
    expect(dialog.get_by_label("calculator")).to_be_checked()
    # Set for the new chat at once: the composer shows it, even with the panel closed by Escape.
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(composer.get_by_label("Model", exact=True)).to_have_value("openai:gpt-test")
    expect(composer.get_by_label("Reasoning effort")).to_have_value("low")
    expect(composer.get_by_role("button", name="Tools (1)")).to_be_visible()

    answered(chat, "Ahoy")
    sends = [frame for frame in map(json.loads, sent) if frame["type"] == "send"]
    assert sends[-1]["conversation"] is None
    assert sends[-1]["model"] == "openai:gpt-test"
    assert sends[-1]["settings"] == {
        "system_prompt": INSTRUCTIONS,
        "temperature": 0.4,
        "top_p": 0.8,
        "max_output_tokens": 300,
    }
    body = live_app.upstream.requests[-1].body
    assert body["messages"][0] == {"role": "system", "content": INSTRUCTIONS}
    assert (body["temperature"], body["top_p"], body["max_tokens"]) == (0.4, 0.8, 300)

    conversation = chat.conversation_id()
    stored = page.request.get(f"{live_app.url}/api/conversations/{conversation}/settings")
    assert stored.json() == CAPTAIN
    chat.assert_clean()


def test_an_open_conversations_fields_are_filled_and_its_own_presets_deleted(page: Page, live_app):
    chat = open_chat(page, live_app)
    answered(chat, "Hello")
    create_presets(
        chat,
        live_app,
        "Preset.objects.create(name='House style', settings={'temperature': 0.7})\n"
        "Preset.objects.create(owner=User.objects.get(), name='Mine', settings={'top_p': 0.3})",
    )

    dialog = open_by_keyboard(page, chat)
    picker = dialog.get_by_label("Preset", exact=True)
    groups = picker.locator("optgroup")
    expect(groups).to_have_count(2)
    expect(groups.nth(0)).to_have_attribute("label", "Site-wide")
    expect(groups.nth(0).locator("option")).to_have_text(["House style"])
    expect(groups.nth(1)).to_have_attribute("label", "Yours")
    expect(groups.nth(1).locator("option")).to_have_text(["Mine"])
    delete = dialog.get_by_role("button", name="Delete preset")
    expect(delete).to_be_disabled()

    # One after another: each fills the fields over what they showed at first, not mixed.
    picker.select_option(label="Mine")
    expect(dialog.get_by_label("Top p")).to_have_value("0.3")
    expect(dialog.locator("#settings-preset-note")).to_have_text(
        "“Mine” is filled in: Save to use it here."
    )
    expect(delete).to_be_enabled()
    picker.select_option(label="House style")
    expect(dialog.get_by_label("Temperature")).to_have_value("0.7")
    expect(dialog.get_by_label("Top p")).to_have_value("")
    expect(delete).to_be_disabled()  # a site-wide preset is the admin's
    with page.expect_response(lambda r: r.request.method == "PUT") as saving:
        dialog.get_by_role("button", name="Save", exact=True).click()
    assert saving.value.request.post_data_json == {"temperature": 0.7}
    expect(dialog).to_be_hidden()

    page.get_by_role("button", name="Settings", exact=True).click()
    expect(dialog.get_by_label("Temperature")).to_have_value("0.7")
    picker.select_option(label="Mine")
    with page.expect_response(lambda r: r.request.method == "DELETE") as deleting:
        delete.click()
    assert deleting.value.status == 204
    expect(dialog.locator("#settings-preset-note")).to_have_text("Deleted preset “Mine”.")
    expect(picker).to_be_focused()
    expect(picker.locator("option")).to_have_text(["Choose a preset…", "House style"])
    assert [p["name"] for p in stored_presets(page)] == ["House style"]
    chat.assert_clean()


def test_a_preset_needs_a_name_and_values_the_server_takes(page: Page, live_app):
    chat = open_chat(page, live_app)
    dialog = open_by_keyboard(page, chat)
    expect(dialog.get_by_label("Preset", exact=True)).to_have_text("No presets yet")
    dialog.get_by_role("button", name="Save as preset…").click()
    name = dialog.get_by_label("Preset name")
    dialog.get_by_role("button", name="Save preset").click()
    expect(dialog.locator("#settings-preset_name-error")).to_have_text("Give the preset a name.")
    expect(name).to_be_focused()
    expect(name).to_have_attribute("aria-invalid", "true")

    temperature = dialog.get_by_label("Temperature")
    temperature.fill("7")
    name.fill("Too hot")
    with page.expect_response(lambda r: r.request.method == "POST") as saving:
        name.press("Enter")
    assert saving.value.status == 400
    expect(dialog.locator("#settings-temperature-error")).to_have_text(
        saving.value.json()["detail"]
    )
    expect(temperature).to_be_focused()

    name.press("Escape")  # back to the panel, which stays open
    expect(dialog).to_be_visible()
    expect(name).to_be_hidden()
    expect(dialog.get_by_role("button", name="Save as preset…")).to_be_focused()
    assert stored_presets(page) == []
    chat.assert_clean()
