"""The hostile corpus, stored as model answers, rendered in the admin's transcript in Chromium
under the app's real headers: no script runs, nothing is fetched from another host, and the admin
itself works under the CSP (no inline script or style refused). The chat page runs the same
corpus: tests/browser/test_markdown_hostile.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, page, wait_until  # noqa: F401
from tests.browser.live import LiveApp

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # tests/browser's Chromium, closed when this module is done: while Playwright's sync API is
    # alive, the async tests of this package could not run.
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


CORPUS = json.loads((Path(__file__).parents[1] / "browser" / "hostile_corpus.json").read_text())[
    "cases"
]
PASSWORD = "a long admin passphrase 42"

STORE_CORPUS = """
import json
from django.contrib.auth import get_user_model
from chat.models import Conversation, Message
cases = json.loads({corpus!r})
User = get_user_model()
User.objects.create_superuser("root", password={password!r})
owner = User.objects.create_user("alice", password={password!r})
conversation = Conversation.objects.create(owner=owner, model="openai:gpt-test", title="Hostile")
for n, case in enumerate(cases):
    question = conversation.messages.create(role="user", text=case["markdown"], seq=2 * n + 1)
    conversation.messages.create(
        role="assistant", text=case["markdown"], seq=2 * n + 2, reply_to=question,
        model="openai:gpt-test", status="complete", error=case["name"],
    )
print(conversation.pk)
"""


def test_the_admin_transcript_renders_the_hostile_corpus_harmlessly(
    page: Page,  # noqa: F811 (the fixture imported above)
    live_app: LiveApp,
) -> None:
    conversation = live_app.manage(
        "shell", "-c", STORE_CORPUS.format(corpus=json.dumps(CORPUS), password=PASSWORD)
    ).splitlines()[-1]
    origin = urlsplit(live_app.url).netloc
    foreign: list[str] = []
    dialogs: list[str] = []
    refused: list[str] = []
    page.on(
        "request",
        lambda r: foreign.append(r.url) if urlsplit(r.url).netloc not in ("", origin) else None,
    )
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on(
        "console",
        lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None,
    )

    page.goto(f"{live_app.url}/admin/login/?next=/admin/chat/conversation/{conversation}/change/")
    page.fill("input[name=username]", "root")
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#transcript")
    response = page.request.get(page.url)
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_timeout(300)  # let any late handler, refresh or fetch happen

    text = page.inner_text("#transcript")
    for case in CORPUS:
        for expected in case.get("text_contains", []):
            assert " ".join(expected.split()) in " ".join(text.split()), case["name"]
    assert page.evaluate("window.__pwned === undefined"), page.evaluate("String(window.__pwned)")
    assert dialogs == []
    assert foreign == []
    found = page.evaluate(
        """() => ({
        forbidden: document.querySelectorAll('#transcript :is(script, style, iframe, object,'
          + ' embed, img, svg, math, form, input, base, meta, link)').length,
        handlers: [...document.querySelectorAll('#transcript *')].flatMap(
          (el) => el.getAttributeNames().filter((n) => n.startsWith('on'))).length,
        hrefs: [...document.querySelectorAll('#transcript a[href]')].map((a) => a.href),
      })"""
    )
    assert found["forbidden"] == 0 and found["handlers"] == 0
    assert all(urlsplit(h).scheme in ("http", "https", "mailto") for h in found["hrefs"])
    # The admin's own styling applied (it is not inline, so the policy lets it through).
    wait_until(
        page, "getComputedStyle(document.querySelector('.chat-entry')).borderLeftStyle === 'solid'"
    )
    assert refused == []
