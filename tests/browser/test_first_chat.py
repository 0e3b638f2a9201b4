import re

import pytest
from playwright.sync_api import Page, expect

from tests.fakes.script import Script

pytestmark = pytest.mark.browser

# Long enough (about 4 s at 40 tokens/s) to be seen streaming on a loaded machine.
ANSWER = "Hello! " + "This answer streams in, token by token, from the fake upstream. " * 12


def sign_up(page: Page, url: str, username: str = "admin") -> None:
    page.goto(url)
    expect(page).to_have_url(re.compile(r"/signup/$"))
    page.fill("input[name=username]", username)
    page.fill("input[name=password1]", "a long enough passphrase")
    page.fill("input[name=password2]", "a long enough passphrase")
    page.click("button[type=submit]")
    expect(page.locator("textarea[name=content]")).to_be_visible()


def test_the_first_visitor_signs_up_sends_a_message_and_sees_it_stream(page: Page, live_app):
    live_app.upstream.enqueue(Script(text=ANSWER, tokens_per_second=40))
    sign_up(page, live_app.url)

    page.fill("textarea[name=content]", "Say hello")
    page.keyboard.press("Enter")
    answer = page.locator("[data-role=assistant]").last
    expect(answer).to_have_attribute("data-status", "streaming")
    # Text arrives while the answer is still streaming...
    expect(answer).to_contain_text("Hello!")
    assert answer.get_attribute("data-status") == "streaming"
    # ...and all of it by the end.
    expect(answer).to_have_attribute("data-status", "complete", timeout=15000)
    expect(answer).to_contain_text(ANSWER.strip())
    expect(page).to_have_url(re.compile(r"/c/\d+/$"))

    # The conversation is stored: a reload shows it.
    page.reload()
    expect(page.locator("[data-role=user]").first).to_contain_text("Say hello")
    expect(page.locator("[data-role=assistant]").last).to_contain_text(ANSWER.strip())


def test_sign_up_closes_after_the_first_account(page: Page, live_app):
    sign_up(page, live_app.url)
    page.context.clear_cookies()
    response = page.goto(live_app.url + "/signup/")
    assert response.status == 403
    expect(page.locator("h1")).to_have_text("Sign-up is closed")


def test_the_offline_model_answers_in_the_browser(page: Page, live_app):
    sign_up(page, live_app.url)
    page.select_option("select[name=model]", "local:smollm2")
    page.fill("textarea[name=content]", "Name a fruit.")
    page.keyboard.press("Enter")
    answer = page.locator("[data-role=assistant]").last
    expect(answer).to_have_attribute("data-status", "complete", timeout=60000)
    assert answer.locator(".body").inner_text().strip()
