"""Hostile model output, streamed through the chat page from the fake upstream, runs nothing,
fetches nothing from another host, and shows raw HTML as text; so do the user's own messages
of the same markup."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page

from tests.browser.chat_page import open_chat
from tests.browser.test_chat_streaming import chunks
from tests.fakes.script import Script

pytestmark = pytest.mark.browser

CORPUS = json.loads((Path(__file__).parent / "hostile_corpus.json").read_text())["cases"]

INSPECT = """
(role) => {
  const forbidden = "script, style, iframe, frame, object, embed, svg, math, img, form, input, "
    + "textarea, select, base, meta, link, template, noscript, video, audio, source";
  return Array.from(document.querySelectorAll(`[data-role=${role}]`)).map((answer) => {
    const body = answer.querySelector(".body");
    const elements = Array.from(body.querySelectorAll("*"));
    return {
      status: answer.dataset.status,
      forbidden: Array.from(body.querySelectorAll(forbidden)).map((el) => el.outerHTML),
      handlers: elements.flatMap((el) =>
        el.getAttributeNames().filter((name) => name.startsWith("on"))),
      styles: elements.filter((el) => el.hasAttribute("style")).length,
      hrefs: Array.from(body.querySelectorAll("[href]")).map((el) => el.getAttribute("href")),
      text: body.textContent,
    };
  });
}
"""


def test_hostile_answers_run_nothing_and_fetch_nothing_foreign(page: Page, live_app):
    requests: list[str] = []
    dialogs: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    chat = open_chat(page, live_app)

    for number, case in enumerate(CORPUS):
        # Small pieces, so every partial state of the markup is rendered on the way.
        pieces = chunks(case["markdown"], seed=number, largest=6)
        live_app.upstream.enqueue(Script(tokens=pieces, tokens_per_second=400))
        # The user's message is the same markup: rendered by the same renderer, as safely.
        answer = chat.send(case["markdown"])
        chat.wait_for_status(answer, "complete")
    page.wait_for_timeout(200)  # let any late handler, timer or navigation happen

    shown = page.evaluate(INSPECT, "assistant")
    assert len(shown) == len(CORPUS)
    for case, dom in zip(CORPUS, shown, strict=True):
        name = case["name"]
        assert dom["forbidden"] == [], f"{name}: {dom['forbidden']}"
        assert dom["handlers"] == [], f"{name}: {dom['handlers']}"
        assert dom["styles"] == 0, f"{name}: a style attribute"
        for href in dom["hrefs"]:
            assert urlsplit(href).scheme in {"http", "https", "mailto"}, (name, href)
        for expected in case["text_contains"]:
            assert expected in dom["text"], f"{name}: {expected!r} not shown as text"

    # The user's messages are markdown too (they used to be plain text): the same checks hold
    # for them, and the text as typed is what the page keeps (Copy and Edit take it).
    questions = page.evaluate(INSPECT, "user")
    assert len(questions) == len(CORPUS)
    for case, dom in zip(CORPUS, questions, strict=True):
        name = case["name"]
        assert dom["forbidden"] == [], f"{name} (user): {dom['forbidden']}"
        assert dom["handlers"] == [], f"{name} (user): {dom['handlers']}"
        assert dom["styles"] == 0, f"{name} (user): a style attribute"
        for href in dom["hrefs"]:
            assert urlsplit(href).scheme in {"http", "https", "mailto"}, (name, href)
        for expected in case["text_contains"]:
            assert expected in dom["text"], f"{name} (user): {expected!r} not shown as text"
    # The first message became the conversation's title, in the list and the tab, as text.
    title = " ".join(CORPUS[0]["markdown"].split())[:80]
    assert page.locator(".conversation-link").first.text_content() == title
    assert page.title() == title

    # Reloaded, the same answers render in one shot from the database, just as safely.
    page.reload()
    assert page.evaluate(INSPECT, "assistant") == shown
    assert page.evaluate(INSPECT, "user") == questions
    user_texts = [m["text"] for m in chat.stored_messages() if m["role"] == "user"]
    assert user_texts == [case["markdown"] for case in CORPUS]

    assert page.evaluate("window.__pwned") is None
    assert dialogs == []
    foreign = [url for url in requests if urlsplit(url).hostname != "127.0.0.1"]
    assert foreign == []
    assert requests, "the request recorder saw nothing at all"
    chat.assert_clean()
