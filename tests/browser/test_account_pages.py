"""The pages around the chat: sign-up and sign-in say what went wrong as errors, beside the
field, under the product's name; a new API token can be copied with one click."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.chat_page import PASSWORD, ChatPage, open_chat

pytestmark = pytest.mark.browser


def test_sign_up_and_sign_in_errors_are_errors_by_their_field(page: Page, live_app):
    chat = ChatPage(page, live_app.url)
    page.goto(live_app.url + "/signup/")
    expect(page.locator(".brand")).to_have_text("Streamchat")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password confirmation").fill(PASSWORD + " but different")
    page.get_by_role("button", name="Create account").click()
    error = page.locator(".auth-field.has-error .field-error")
    expect(error).to_have_attribute("role", "alert")
    expect(error).to_contain_text("match")
    confirmation = page.get_by_label("Password confirmation")
    expect(confirmation).to_have_attribute("aria-invalid", "true")

    chat.sign_up("admin")
    page.get_by_role("button", name="Sign out").click()
    page.goto(live_app.url + "/login/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    alert = page.locator(".form-error")
    expect(alert).to_have_attribute("role", "alert")
    expect(alert).to_contain_text("correct username and password")
    sign_in = page.get_by_role("button", name="Sign in")
    assert "primary" in (sign_in.get_attribute("class") or "")
    chat.assert_clean()


def test_a_new_api_token_is_copied_with_one_click(page: Page, live_app):
    chat = open_chat(page, live_app)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_app.url)
    page.goto(live_app.url + "/settings/tokens/")
    page.get_by_label("Name").fill("laptop")
    page.get_by_role("button", name="Create token").click()
    token = page.locator("#new-token").text_content().strip()
    page.get_by_role("button", name="Copy").click()
    copy = page.locator("#copy-token")  # by id: its name changes as it says how it went
    expect(copy).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == token
    chat.assert_clean()
