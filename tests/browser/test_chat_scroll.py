"""The transcript follows a streaming answer only while the reader is at the bottom."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, Route, expect

from tests.browser.chat_page import ChatPage, open_chat
from tests.browser.conftest import DIAGRAM_FRAME_PATH
from tests.browser.corpus import long_answer
from tests.fakes.script import Script

pytestmark = pytest.mark.browser

SCROLLER = "document.getElementById('transcript')"


def lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def position(page: Page) -> dict:
    return page.evaluate(
        f"""(() => {{
            const s = {SCROLLER};
            return {{ top: s.scrollTop, height: s.scrollHeight,
                      distance: s.scrollHeight - s.clientHeight - s.scrollTop }};
        }})()"""
    )


def wheel(page: Page, delta_y: float) -> None:
    box = page.locator("#transcript").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, delta_y)


def settle(chat: ChatPage) -> None:
    # Wheel scrolling may be animated: wait until the position stops changing.
    chat.wait_until(
        f"""new Promise((resolve) => {{
            const top = {SCROLLER}.scrollTop;
            setTimeout(() => resolve({SCROLLER}.scrollTop === top), 150);
        }})"""
    )


def grown(chat: ChatPage, height: int) -> None:
    chat.wait_until(f"{SCROLLER}.scrollHeight > {height}")


# A Mermaid diagram is drawn some time after its block closes (the first waits for the diagram
# frame to load), and the drawing is taller than the code it replaces.
DRAWN_DOWN_TO_THE_VIEW = f"""(() => {{
    const bottom = {SCROLLER}.getBoundingClientRect().bottom;
    return [...{SCROLLER}.querySelectorAll(".md-diagram")].every((host) =>
        !host.shadowRoot || host.shadowRoot.childNodes.length > 1
        || host.getBoundingClientRect().top >= bottom);
}})()"""


def test_scrolling_up_holds_the_view_and_scrolling_down_follows_again(page: Page, live_app):
    # Long enough to outlast the test, which stops it at the end.
    text = long_answer(seed=31, min_chars=120_000)
    live_app.upstream.enqueue(Script(tokens=lines(text), tokens_per_second=100))
    chat = open_chat(page, live_app)
    jump = page.get_by_role("button", name="Jump to latest")

    answer = chat.send("Write something very long")
    grown(chat, 3_000)
    # At the bottom, it follows.
    for _ in range(3):
        height = position(page)["height"]
        grown(chat, height + 100)
        page.wait_for_timeout(50)
        assert position(page)["distance"] <= 2
    expect(jump).to_be_hidden()

    # Scrolled up: the view stays exactly where the reader put it while text keeps arriving.
    wheel(page, -800)
    settle(chat)
    # A diagram drawn above the view grows there, and the browser's scroll anchoring rightly
    # moves the position to keep the reader's text in place (tested on its own below). Once
    # every diagram down to the view is drawn, only text below the view changes.
    chat.wait_until(DRAWN_DOWN_TO_THE_VIEW, timeout_ms=20_000)
    settle(chat)
    held = position(page)
    assert held["distance"] > 100
    expect(jump).to_be_visible()
    grown(chat, held["height"] + 1_500)
    assert position(page)["top"] == held["top"]
    assert answer.get_attribute("data-status") == "streaming"

    # Back down at the bottom: it follows again (so the position keeps moving: no settling).
    wheel(page, 100_000)
    expect(jump).to_be_hidden()
    height = position(page)["height"]
    grown(chat, height + 1_000)
    page.wait_for_timeout(100)
    assert position(page)["distance"] <= 2

    # Up again, then the button brings the view back and keeps following.
    wheel(page, -1_000)
    settle(chat)
    expect(jump).to_be_visible()
    jump.click()
    expect(jump).to_be_hidden()
    height = position(page)["height"]
    grown(chat, height + 1_000)
    page.wait_for_timeout(100)
    assert position(page)["distance"] <= 2

    page.get_by_role("button", name="Stop").click()
    chat.wait_for_status(answer, "stopped")
    chat.assert_clean()


DIAGRAM_FIRST = (
    "Here is the flow, then the details.\n\n"
    "```mermaid\ngraph TD\n  A[Browser] --> B[Server]\n  B --> C[Provider]\n"
    "  C --> D[Database]\n  D --> A\n```\n\n"
    + "\n\n".join(
        f"Detail {n}: the server stores each part of the answer as it arrives, so a reader "
        "who reloads the page sees everything that came before."
        for n in range(1, 81)
    )
    + "\n"
)

READING = f"""(() => {{
    const view = {SCROLLER}.getBoundingClientRect();
    const diagram = {SCROLLER}.querySelector(".md-diagram").getBoundingClientRect();
    const first = [...{SCROLLER}.querySelectorAll("[data-role=assistant] .body > p")]
        .find((p) => p.getBoundingClientRect().top >= view.top);
    return {{ text: first.textContent, top: first.getBoundingClientRect().top,
              diagramAbove: diagram.bottom <= view.top, diagramHeight: diagram.height }};
}})()"""

READ_AGAIN = f"""(text) => {{
    const p = [...{SCROLLER}.querySelectorAll("[data-role=assistant] .body > p")]
        .find((p) => p.textContent === text);
    return p.getBoundingClientRect().top;
}}"""


def test_a_diagram_drawn_above_the_reader_keeps_what_they_read_in_place(page: Page, live_app):
    # The diagram frame is held back, so the diagram is drawn only once the reader is below it.
    held_frames: list[Route] = []

    def hold(route: Route) -> None:
        held_frames.append(route)

    page.route(f"**{DIAGRAM_FRAME_PATH}*", hold)
    live_app.upstream.enqueue(Script(tokens=lines(DIAGRAM_FIRST), tokens_per_second=400))
    chat = open_chat(page, live_app)
    answer = chat.send("Explain the flow")
    chat.wait_for_status(answer, "complete")

    wheel(page, -1_500)
    settle(chat)
    before = page.evaluate(READING)
    assert before["diagramAbove"], before
    assert held_frames, "the diagram frame was never asked for"

    for route in held_frames:
        route.continue_()
    chat.wait_until(
        f"Boolean({SCROLLER}.querySelector('.md-diagram').shadowRoot"
        "?.querySelector('.diagram svg'))"
    )
    settle(chat)
    after = page.evaluate(READING)
    assert after["diagramHeight"] > before["diagramHeight"] + 50, (before, after)
    assert abs(page.evaluate(READ_AGAIN, before["text"]) - before["top"]) < 1
    chat.assert_clean()
