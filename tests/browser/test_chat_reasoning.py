"""An answer's reasoning, shown apart from its text: a block above the answer, open while the
model thinks and closed once the answer begins, the answer's phase while it has no text, and the
reasoning effort asked for in the composer."""

from __future__ import annotations

import json
import re
import time

import pytest
from playwright.sync_api import Page, WebSocketRoute, expect

from tests.browser.chat_page import open_chat

pytestmark = pytest.mark.browser

# The typing cursor an empty answer would show (the ::after of its body).
CURSOR = "(answer) => getComputedStyle(answer.querySelector('.body'), '::after').content"


class FakeSocket:
    """The page's socket answered by the test: what the page sends is kept, frames are sent."""

    def __init__(self, page: Page) -> None:
        self.routes: list[WebSocketRoute] = []
        self.received: list[dict] = []
        page.route_web_socket(re.compile(r"/ws/chat/$"), self._accept)

    def _accept(self, route: WebSocketRoute) -> None:
        route.on_message(lambda message: self.received.append(json.loads(message)))
        self.routes.append(route)

    def send(self, **frame: object) -> None:
        self.routes[-1].send(json.dumps(frame))

    def wait_for(self, page: Page, kind: str) -> dict:
        """The first frame of type `kind` the page sent, once it has."""
        deadline = time.monotonic() + 10
        while not (frames := [f for f in self.received if f["type"] == kind]):
            assert time.monotonic() < deadline, f"the page sent no {kind}: {self.received}"
            page.wait_for_timeout(20)
        return frames[0]


def reasoning_delta(seq: int, offset: int, text: str, **more: object) -> dict:
    return {
        "type": "delta",
        "part": "reasoning",
        "message": 12,
        "seq": seq,
        "offset": offset,
        "text": text,
        **more,
    }


def test_reasoning_deltas_take_the_protocols_rules_and_a_resume_asks_for_both_parts(
    page: Page, live_app
):
    socket = FakeSocket(page)
    chat = open_chat(page, live_app)
    chat.textarea.fill("Think first")
    chat.textarea.press("Enter")
    assert socket.wait_for(page, "send")["reasoning_effort"] == "off"

    start = {
        "type": "message.start",
        "conversation": 7,
        "title": "Think first",
        "message": 12,
        "model": "openai:gpt-test",
        "reply_to": 11,
        "offset": 0,
        "reasoning_offset": 0,
        "context_from_seq": 1,
        "follows": None,
    }
    socket.send(**start)
    answer = chat.answer()
    expect(answer).to_have_attribute("data-status", "streaming")

    # A silent start: the phase, counted from the server's elapsed_ms, and no frozen cursor.
    socket.send(type="message.phase", message=12, phase="waiting", elapsed_ms=3_200)
    phase = answer.locator(".phase")
    expect(phase).to_have_text(re.compile(r"^Waiting for the model…\s*3 s$"))
    expect(phase).to_have_text(re.compile(r"^Waiting for the model…\s*4 s$"), timeout=3_000)
    assert answer.evaluate(CURSOR) == "none"
    block = answer.locator("details.reasoning")
    expect(block).to_be_hidden()

    socket.send(type="message.phase", message=12, phase="thinking", elapsed_ms=34_000)
    expect(phase).to_be_hidden()
    expect(block).to_have_attribute("open", "")
    expect(block.locator("summary")).to_have_text("Thinking… 34 s")
    assert answer.evaluate(CURSOR) == "none"

    first = "Let me think about **this**.\n\n"
    socket.send(**reasoning_delta(1, 0, first))
    socket.send(**reasoning_delta(2, 0, first))  # a duplicate
    socket.send(
        **reasoning_delta(3, first.index("about"), "about **this**.\n\nFirst, ")
    )  # overlaps
    held = len(first + "First, ")
    # A gap: the page asks for both parts from where its copies end.
    socket.send(**reasoning_delta(5, held + 9, "lost"))
    resume = socket.wait_for(page, "resume")
    assert resume == {"type": "resume", "message": 12, "offset": 0, "reasoning_offset": held}
    socket.send(**{**start, "reasoning_offset": held})
    rest = "the question, then `the answer`."
    socket.send(**reasoning_delta(4, held, rest))
    reasoning = first + "First, " + rest
    text = answer.locator(".reasoning-text")
    expect(text).to_contain_text("First, the question, then the answer.")
    assert chat.body_html(answer) == ""

    # The answer begins: the block closes, counted no more.
    socket.send(type="message.phase", message=12, phase="writing", elapsed_ms=0)
    socket.send(type="delta", message=12, seq=6, offset=0, text="The answer.")
    expect(answer.locator(".body")).to_have_text("The answer.")
    expect(block).not_to_have_attribute("open", "")
    expect(block.locator("summary")).to_have_text(re.compile(r"^Thought for \d+ s$"))

    # The end: the server stored less reasoning than the page holds (a killed process): what
    # was not stored is shown no more; the label is the server's measure.
    stored = first + "First, the question"
    socket.send(
        type="message.end",
        message=12,
        status="interrupted",
        finish_reason=None,
        length=len("The answer."),
        reasoning_length=len(stored),
        usage={"input_tokens": 9, "output_tokens": 40, "reasoning_tokens": 31},
        ttft_ms=900,
        tokens_per_second=20.0,
        reasoning_ms=12_400,
        error=None,
    )
    expect(answer).to_have_attribute("data-status", "interrupted")
    expect(block.locator("summary")).to_have_text("Thought for 12 s")
    assert text.evaluate("(el) => el.innerHTML") == chat.one_shot_html(stored)
    assert reasoning.startswith(stored)
    expect(answer.locator(".note")).to_contain_text("was not saved")
    expect(answer.locator(".metrics")).to_contain_text("31 reasoning")
    chat.assert_clean()
