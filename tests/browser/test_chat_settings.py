"""The conversation's settings panel: opened and filled from the keyboard, saved with the
conversation (or with a new chat's first message), shown again after a reload, sent upstream
with the next answer; a value the server refuses is named beside its field; what a provider
ignored is said in the answer's metadata line."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.chat_page import ChatPage, live_app_with, open_chat
from tests.browser.test_chat_reasoning import FakeSocket, end_frame

pytestmark = pytest.mark.browser

INSTRUCTIONS = "Answer like a ship's captain."


def panel(page: Page) -> Locator:
    return page.get_by_role("dialog", name="Settings")


def open_by_keyboard(page: Page, chat: ChatPage) -> Locator:
    """Tabs from the message box to the Settings button and opens the panel with Enter."""
    chat.textarea.focus()
    button = page.get_by_role("button", name="Settings", exact=True)
    for _ in range(10):
        page.keyboard.press("Tab")
        if button.evaluate("(el) => el === document.activeElement"):
            break
    expect(button).to_be_focused()
    page.keyboard.press("Enter")
    dialog = panel(page)
    expect(dialog).to_be_visible()
    return dialog


def answered(chat: ChatPage, text: str) -> None:
    chat.wait_for_status(chat.send(text), "complete")


def test_settings_saved_from_the_keyboard_survive_a_reload_and_go_upstream(page: Page, live_app):
    chat = open_chat(page, live_app)
    answered(chat, "Hello")

    dialog = open_by_keyboard(page, chat)
    instructions = dialog.get_by_label("Instructions")
    expect(instructions).to_be_focused()  # the focus goes into the panel
    page.keyboard.type(INSTRUCTIONS)
    page.keyboard.press("Tab")
    expect(dialog.get_by_label("Model", exact=True)).to_be_focused()
    page.keyboard.press("Tab")
    expect(dialog.get_by_label("Temperature")).to_be_focused()
    page.keyboard.type("0.3")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    tokens = dialog.get_by_label("Maximum output tokens")
    expect(tokens).to_be_focused()
    page.keyboard.type("321")
    with page.expect_response(lambda r: r.request.method == "PUT") as saving:
        page.keyboard.press("Enter")  # submits the panel's form
    assert saving.value.status == 200
    assert saving.value.request.post_data_json == {
        "system_prompt": INSTRUCTIONS,
        "temperature": 0.3,
        "max_output_tokens": 321,
    }
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("button", name="Settings", exact=True)).to_be_focused()

    chat.goto(page.url)
    dialog = open_by_keyboard(page, chat)
    expect(dialog.get_by_label("Instructions")).to_have_value(INSTRUCTIONS)
    expect(dialog.get_by_label("Temperature")).to_have_value("0.3")
    expect(dialog.get_by_label("Top p")).to_have_value("")
    expect(dialog.get_by_label("Maximum output tokens")).to_have_value("321")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("button", name="Settings", exact=True)).to_be_focused()

    answered(chat, "And now?")
    body = live_app.upstream.requests[-1].body
    assert body["messages"][0] == {"role": "system", "content": INSTRUCTIONS}
    assert body["temperature"] == 0.3
    assert body["max_tokens"] == 321
    chat.assert_clean()


def test_a_value_the_server_refuses_is_named_beside_its_field(page: Page, live_app):
    chat = open_chat(page, live_app)
    answered(chat, "Hello")

    dialog = open_by_keyboard(page, chat)
    temperature = dialog.get_by_label("Temperature")
    temperature.fill("7")
    with page.expect_response(lambda r: r.request.method == "PUT") as saving:
        dialog.get_by_role("button", name="Save", exact=True).click()
    assert saving.value.status == 400
    refusal = saving.value.json()
    assert refusal["field"] == "temperature"
    message = dialog.locator("#settings-temperature-error")
    expect(message).to_have_text(refusal["detail"])
    expect(dialog).to_be_visible()  # the panel stays open on the field to fix
    expect(temperature).to_be_focused()
    expect(temperature).to_have_attribute("aria-invalid", "true")
    description = f"From 0 to 2; higher is more varied. {refusal['detail']}"
    expect(temperature).to_have_accessible_description(description)

    page.keyboard.press("Escape")  # nothing was saved
    chat.goto(page.url)
    dialog = open_by_keyboard(page, chat)
    expect(dialog.get_by_label("Temperature")).to_have_value("")
    expect(dialog.locator("#settings-temperature-error")).to_be_hidden()
    chat.assert_clean()


def test_a_new_chats_settings_go_with_its_first_message(page: Page, live_app):
    sent: list[str] = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(payload)))
    chat = open_chat(page, live_app)

    dialog = open_by_keyboard(page, chat)
    expect(dialog.get_by_text("For this new chat")).to_be_visible()
    dialog.get_by_label("Instructions").fill(INSTRUCTIONS)
    dialog.get_by_label("Top p").fill("0.5")
    dialog.get_by_role("button", name="Save", exact=True).click()
    expect(dialog).to_be_hidden()

    answered(chat, "Ahoy")
    sends = [frame for frame in map(json.loads, sent) if frame["type"] == "send"]
    assert sends[0]["conversation"] is None
    assert sends[0]["settings"] == {"system_prompt": INSTRUCTIONS, "top_p": 0.5}
    body = live_app.upstream.requests[-1].body
    assert body["messages"][0] == {"role": "system", "content": INSTRUCTIONS}
    assert body["top_p"] == 0.5

    # The conversation has them now: after a reload, and in the next request.
    chat.goto(page.url)
    dialog = open_by_keyboard(page, chat)
    expect(dialog.get_by_text("For this conversation")).to_be_visible()
    expect(dialog.get_by_label("Instructions")).to_have_value(INSTRUCTIONS)
    expect(dialog.get_by_label("Top p")).to_have_value("0.5")
    dialog.get_by_role("button", name="Cancel").click()
    answered(chat, "Again")
    assert live_app.upstream.requests[-1].body["top_p"] == 0.5
    chat.assert_clean()


def test_what_a_provider_ignored_is_said_in_the_metadata_line(page: Page, live_app):
    socket = FakeSocket(page)
    chat = open_chat(page, live_app)
    answer = socket.ask(page, chat, "Think first", 12)
    socket.send(type="delta", part="text", message=12, seq=1, offset=0, text="Aye.")
    note = "temperature ignored: extended thinking needs 1"
    socket.send(**end_frame(12, 4, 0, settings_notes=[note]))
    expect(answer.locator(".metrics")).to_have_text(
        "gpt-test · 900 ms to first token · 20.0 tokens/s · 40 tokens · "
        "temperature ignored (extended thinking needs 1)"
    )


def test_the_panel_and_the_composer_show_one_model_effort_and_tools(page: Page, live_app):
    chat = open_chat(page, live_app)
    composer = page.locator("#composer")
    composer.get_by_label("Model", exact=True).select_option("local:smollm2")
    dialog = open_by_keyboard(page, chat)
    expect(dialog.get_by_label("Model", exact=True)).to_have_value("local:smollm2")
    expect(dialog.get_by_label("Reasoning effort")).to_have_value("off")

    dialog.get_by_label("Model", exact=True).select_option("openai:gpt-test")
    dialog.get_by_label("Reasoning effort").select_option("high")
    dialog.get_by_label("calculator").check()
    dialog.get_by_role("button", name="Save", exact=True).click()
    expect(dialog).to_be_hidden()
    expect(composer.get_by_label("Model", exact=True)).to_have_value("openai:gpt-test")
    expect(composer.get_by_label("Reasoning effort")).to_have_value("high")
    expect(composer.get_by_role("button", name="Tools (1)")).to_be_visible()

    # Cancel keeps what the composer has.
    page.get_by_role("button", name="Settings", exact=True).click()
    expect(dialog.get_by_label("calculator")).to_be_checked()
    dialog.get_by_label("Reasoning effort").select_option("low")
    dialog.get_by_role("button", name="Cancel").click()
    expect(composer.get_by_label("Reasoning effort")).to_have_value("high")
    chat.assert_clean()


def test_a_temperature_claude_cannot_take_while_thinking_is_said_under_the_answer(
    page: Page, tmp_path
):
    with live_app_with(tmp_path, anthropic=True) as app:
        chat = open_chat(page, app)
        dialog = open_by_keyboard(page, chat)
        dialog.get_by_label("Model", exact=True).select_option("anthropic:claude-test")
        dialog.get_by_label("Reasoning effort").select_option("high")
        dialog.get_by_label("Temperature").fill("0.3")
        dialog.get_by_role("button", name="Save", exact=True).click()

        answer = chat.send("Think, then answer")
        chat.wait_for_status(answer, "complete")
        body = app.upstream.requests[-1].body
        assert body["thinking"]["type"] == "enabled"
        assert "temperature" not in body
        note = "temperature ignored (claude-test with extended thinking needs 1)"
        expect(answer.locator(".metrics")).to_contain_text(f"· {note}")

        chat.goto(page.url)  # the answer keeps saying so
        expect(chat.answer().locator(".metrics")).to_contain_text(f"· {note}")
        chat.assert_clean()


def test_a_new_chats_refused_setting_opens_the_panel_on_its_field(page: Page, live_app):
    chat = open_chat(page, live_app)
    dialog = open_by_keyboard(page, chat)
    dialog.get_by_label("Top p").fill("3")
    dialog.get_by_role("button", name="Save", exact=True).click()
    expect(dialog).to_be_hidden()  # a new chat's settings wait for its first message

    chat.textarea.fill("Ahoy")
    chat.textarea.press("Enter")
    expect(dialog).to_be_visible()
    top_p = dialog.get_by_label("Top p")
    expect(top_p).to_have_value("3")
    expect(top_p).to_be_focused()
    expect(dialog.locator("#settings-top_p-error")).to_contain_text("top_p")
    expect(chat.textarea).to_have_value("Ahoy")  # the message is back, to send again
    assert len(live_app.upstream.requests) == 0  # nothing went upstream

    top_p.fill("")
    dialog.get_by_role("button", name="Save", exact=True).click()
    chat.wait_for_status(chat.send("Ahoy"), "complete")
    assert "top_p" not in live_app.upstream.requests[-1].body
    chat.assert_clean()
