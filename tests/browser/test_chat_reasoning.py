"""An answer's reasoning, shown apart from its text: a block above the answer, open while the
model thinks and closed once the answer begins, the answer's phase while it has no text, and the
reasoning effort asked for in the composer."""

from __future__ import annotations

import json
import re
import time

import pytest
from playwright.sync_api import Locator, Page, WebSocketRoute, expect

from tests.browser.chat_page import ChatPage, live_app_with, open_chat
from tests.fakes.script import Script

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

    def wait_for(self, page: Page, kind: str, number: int = 1) -> dict:
        """The `number`th frame of type `kind` the page sent, once it has."""
        deadline = time.monotonic() + 10
        while len(frames := [f for f in self.received if f["type"] == kind]) < number:
            assert time.monotonic() < deadline, f"the page sent no {kind}: {self.received}"
            page.wait_for_timeout(20)
        return frames[number - 1]

    def ask(self, page: Page, chat: ChatPage, question: str, message: int) -> Locator:
        """Sends `question` from the page; the answer `message` (its question `message - 1`)
        starts; returns it."""
        number = len([f for f in self.received if f["type"] == "send"]) + 1
        chat.textarea.fill(question)
        chat.textarea.press("Enter")
        self.wait_for(page, "send", number)
        self.send(**start_frame(message))
        answer = page.locator(f"[data-message-id='{message}']")
        expect(answer).to_have_attribute("data-status", "streaming")
        return answer


def start_frame(message: int, **more: object) -> dict:
    return {
        "type": "message.start",
        "conversation": 7,
        "title": "Think first",
        "message": message,
        "model": "openai:gpt-test",
        "reply_to": message - 1,
        "offset": 0,
        "reasoning_offset": 0,
        "context_from_seq": 1,
        "follows": None,
        "phase": "waiting",
        "phase_elapsed_ms": 0,
        **more,
    }


def end_frame(message: int, length: int, reasoning_length: int, **more: object) -> dict:
    return {
        "type": "message.end",
        "message": message,
        "status": "complete",
        "finish_reason": "end",
        "length": length,
        "reasoning_length": reasoning_length,
        "usage": {"input_tokens": 9, "output_tokens": 40, "reasoning_tokens": None},
        "ttft_ms": 900,
        "tokens_per_second": 20.0,
        "reasoning_ms": 2_000,
        "error": None,
        **more,
    }


def reasoning_delta(seq: int, offset: int, text: str, message: int = 12, **more: object) -> dict:
    return {
        "type": "delta",
        "part": "reasoning",
        "message": message,
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
    # A silent start: the phase, counted from the server's elapsed_ms, and no frozen cursor.
    socket.send(**start, phase="waiting", phase_elapsed_ms=3_200)
    answer = chat.answer()
    expect(answer).to_have_attribute("data-status", "streaming")
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
    socket.send(
        **{**start, "reasoning_offset": held, "phase": "thinking", "phase_elapsed_ms": 35_000}
    )
    rest = "the question, then `the answer`."
    socket.send(**reasoning_delta(4, held, rest))
    reasoning = first + "First, " + rest
    text = answer.locator(".reasoning-text")
    expect(text).to_contain_text("First, the question, then the answer.")
    expect(block.locator("summary")).to_have_text("Thinking… 35 s")
    assert chat.body_html(answer) == ""

    # The answer begins: the block closes, counted no more.
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


SCROLLER = "document.getElementById('transcript')"
# How far the bottom of the transcript is below its view, and where an element is in it.
DISTANCE = (
    f"(() => {{ const s = {SCROLLER}; return s.scrollHeight - s.clientHeight - s.scrollTop; }})()"
)
# The same, as painted: after the next frame's layout and resize observers (a look between two
# frames can see content grown and not followed yet, which is never on screen).
PAINTED_DISTANCE = (
    "new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => "
    f"resolve({DISTANCE}))))"
)
TOP = "(el) => el.getBoundingClientRect().top"


def test_the_block_closes_when_the_answer_begins_without_moving_what_the_reader_sees(
    page: Page, live_app
):
    socket = FakeSocket(page)
    chat = open_chat(page, live_app)
    long_text = "".join(f"Paragraph {i} of a long first answer.\n\n" for i in range(80))
    first = socket.ask(page, chat, "Write at length", 12)
    socket.send(type="delta", message=12, seq=1, offset=0, text=long_text)
    socket.send(**end_frame(12, len(long_text), 0, reasoning_ms=None))
    chat.wait_for_status(first, "complete")
    reasoning = "".join(f"A thought, number {i}, on its own line.\n\n" for i in range(30))

    # At the bottom: the view stays at the bottom while the model thinks, and after.
    answer = socket.ask(page, chat, "Think, then answer", 14)
    socket.send(type="message.phase", message=14, phase="thinking", elapsed_ms=0)
    socket.send(**reasoning_delta(1, 0, reasoning, message=14))
    block = answer.locator("details.reasoning")
    expect(block).to_have_attribute("open", "")
    expect(block.locator(".reasoning-text p")).to_have_count(30)
    chat.wait_until(f"{DISTANCE} <= 2")
    # It follows the newest reasoning, in a box of its own.
    box = block.locator(".reasoning-scroll")
    assert box.evaluate("(el) => el.scrollHeight > el.clientHeight + 100")
    assert box.evaluate("(el) => el.scrollHeight - el.clientHeight - el.scrollTop <= 2")
    socket.send(type="delta", message=14, seq=2, offset=0, text="The answer.")
    expect(block).not_to_have_attribute("open", "")
    assert page.evaluate(PAINTED_DISTANCE) <= 2
    socket.send(**end_frame(14, len("The answer."), len(reasoning)))
    chat.wait_for_status(answer, "complete")
    expect(block.locator("summary")).to_have_text("Thought for 2 s")

    # Scrolled up, reading the first answer: it stays exactly where it is.
    answer = socket.ask(page, chat, "Think again", 16)
    socket.send(type="message.phase", message=16, phase="thinking", elapsed_ms=0)
    socket.send(**reasoning_delta(1, 0, reasoning, message=16))
    block = answer.locator("details.reasoning")
    expect(block.locator(".reasoning-text p")).to_have_count(30)
    paragraph = first.locator(".body p").nth(60)
    paragraph.evaluate(f"(p) => {{ {SCROLLER}.scrollTop += p.getBoundingClientRect().top - 100; }}")
    expect(page.get_by_role("button", name="Jump to latest")).to_be_visible()
    before = paragraph.evaluate(TOP)
    scrolled = page.evaluate(f"{SCROLLER}.scrollTop")
    socket.send(type="delta", message=16, seq=2, offset=0, text="The answer.")
    expect(answer.locator(".body")).to_have_text("The answer.")
    expect(block).not_to_have_attribute("open", "")
    assert paragraph.evaluate(TOP) == before
    assert page.evaluate(f"{SCROLLER}.scrollTop") == scrolled
    socket.send(**end_frame(16, len("The answer."), len(reasoning)))

    # Scrolled up to the reasoning itself, being read: it stays open, and where it is.
    answer = socket.ask(page, chat, "Think once more", 18)
    socket.send(type="message.phase", message=18, phase="thinking", elapsed_ms=0)
    socket.send(**reasoning_delta(1, 0, reasoning, message=18))
    block = answer.locator("details.reasoning")
    expect(block.locator(".reasoning-text p")).to_have_count(30)
    page.evaluate(f"{SCROLLER}.scrollTop -= 150")
    expect(page.get_by_role("button", name="Jump to latest")).to_be_visible()
    page.wait_for_timeout(1_100)  # open long enough to be read
    before = block.evaluate(TOP)
    socket.send(type="delta", message=18, seq=2, offset=0, text="The answer.")
    expect(answer.locator(".body")).to_have_text("The answer.")
    expect(block.locator("summary")).to_have_text(re.compile(r"^Thought for "))
    expect(block).to_have_attribute("open", "")
    assert block.evaluate(TOP) == before
    chat.assert_clean()


# Against the live server ------------------------------------------------------------------

STEPS = "\n\n".join(
    f"Step {i}: weigh the option, and note what follows from it." for i in range(1, 13)
)


def words(text: str) -> str:
    return " ".join(text.split())


def test_the_model_thinks_in_an_open_block_that_closes_when_it_answers_and_reloads_closed(
    page: Page, live_app
):
    live_app.upstream.enqueue(
        Script(
            reasoning=STEPS, text="It is forty-two.", first_token_delay=1.5, tokens_per_second=15
        )
    )
    chat = open_chat(page, live_app)
    answer = chat.send("Think it over")
    # A silent start: the answer says what it waits for, without a frozen cursor.
    expect(answer.locator(".phase")).to_have_text(re.compile(r"^Waiting for the model…"))
    assert answer.evaluate(CURSOR) == "none"
    block = answer.locator("details.reasoning")
    expect(block.locator(".reasoning-text")).to_contain_text("Step 1:")
    expect(block).to_have_attribute("open", "")
    expect(block.locator("summary")).to_have_text(re.compile(r"^Thinking…"))
    expect(answer.locator(".phase")).to_be_hidden()
    assert answer.evaluate(CURSOR) == "none"

    # Reloaded while it thinks (some eight seconds of reasoning at this rate): the page shows
    # what was stored, resumes both parts from there, and ends with exactly what was sent.
    page.reload()
    answer = chat.answer()
    block = answer.locator("details.reasoning")
    assert chat.stored_messages()[-1]["text"] == ""
    expect(block).to_have_attribute("open", "")
    expect(block.locator("summary")).to_have_text(re.compile(r"^Thinking…"))
    expect(block.locator(".reasoning-text")).to_contain_text("Step 4:")

    chat.wait_for_status(answer, "complete")
    expect(answer.locator(".body")).to_have_text("It is forty-two.")
    expect(block).not_to_have_attribute("open", "")
    label = re.compile(r"^Thought for (\d+ s|a moment)$")
    expect(block.locator("summary")).to_have_text(label)
    chat.wait_until(
        "document.querySelector('.reasoning-text').innerHTML === "
        + json.dumps(chat.one_shot_html(STEPS))
    )
    resumes = [f for f in chat.frames if f.startswith("sent") and '"resume"' in f]
    assert resumes and '"reasoning_offset"' in resumes[0]

    page.reload()
    stored = chat.stored_messages()[-1]
    assert stored["reasoning"] == STEPS
    assert stored["reasoning_ms"] >= 1  # the tokens took at least this long
    block = chat.answer().locator("details.reasoning")
    expect(block).not_to_have_attribute("open", "")
    seconds = round(stored["reasoning_ms"] / 1000)
    expected = (
        f"Thought for {seconds} s" if stored["reasoning_ms"] >= 1000 else "Thought for a moment"
    )
    expect(block.locator("summary")).to_have_text(expected)
    block.locator("summary").click()
    expect(block.locator(".reasoning-text")).to_be_visible()
    assert block.locator(".reasoning-text").evaluate("(el) => el.innerHTML") == chat.one_shot_html(
        STEPS
    )
    chat.assert_clean()


def test_the_effort_reaches_models_that_reason_and_hidden_or_stopped_reasoning_stays_shown(
    page: Page, tmp_path
):
    with live_app_with(tmp_path, anthropic=True) as app:
        chat = open_chat(page, app)
        effort = page.get_by_label("Reasoning effort")
        note = page.locator("#effort-note")
        expect(effort).to_have_value("off")
        expect(note).to_be_hidden()
        effort.select_option("high")
        # The default model is served through Chat Completions, which takes no effort.
        expect(note).to_have_text("ignored by gpt-test")
        expect(effort).to_have_attribute("title", "gpt-test ignores reasoning effort")
        page.get_by_label("Model", exact=True).select_option("anthropic:claude-test")
        expect(note).to_be_hidden()
        expect(effort).to_have_attribute("title", "")

        # Reasoning the provider hid is said to be hidden.
        app.upstream.enqueue(Script(reasoning="Weighing it up.", redacted=1, text="Done."))
        answer = chat.send("Think hard")
        chat.wait_for_status(answer, "complete")
        assert app.upstream.requests[-1].body["thinking"]["type"] == "enabled"
        block = answer.locator("details.reasoning")
        block.locator("summary").click()
        expect(block.locator(".reasoning-text")).to_have_text("Weighing it up.")
        expect(block.locator(".reasoning-hidden")).to_have_text("Reasoning hidden by the provider")

        # Stopped while it thinks, the answer keeps what reasoning it got to, shown.
        app.upstream.enqueue(Script(reasoning=STEPS, tokens_per_second=12, text="Never said."))
        answer = chat.send("Think at length")
        block = answer.locator("details.reasoning")
        expect(block.locator(".reasoning-text")).to_contain_text("Step 2:")
        page.get_by_role("button", name="Stop").click()
        chat.wait_for_status(answer, "stopped")
        expect(block).to_have_attribute("open", "")
        expect(block.locator("summary")).to_have_text(re.compile(r"^Thought for "))
        shown = block.locator(".reasoning-text").inner_text()
        assert "Step 2:" in shown and "Step 12:" not in shown
        assert chat.body_html(answer) == ""

        page.reload()
        assert words(chat.stored_messages()[-1]["reasoning"]) == words(shown)
        block = chat.answer().locator("details.reasoning")
        block.locator("summary").click()
        assert words(block.locator(".reasoning-text").inner_text()) == words(shown)
        # The conversation keeps its effort and its model.
        expect(effort).to_have_value("high")
        expect(page.get_by_label("Model", exact=True)).to_have_value("anthropic:claude-test")
        chat.assert_clean()
