"""Every upstream fault, for each hosted provider, ends the answer in a clear state: `failed`
with the text written so far kept, a plain sentence for the user, the precise reason for the
admin; and the server goes on serving."""

from __future__ import annotations

import re

import pytest

from chat.models import Message
from tests.conftest import assemble, connect, receive_until
from tests.fakes.script import Fault, Script
from tests.processes.servers import free_port

pytestmark = pytest.mark.django_db(transaction=True)

TOKENS = ["Part ", "one ", "two ", "three."]
KEPT = "Part one "

# Who the user is told failed: the fake stands in for OpenAI as a compatible server on this
# machine.
SHOWN_AS = {"openai": "the local server", "anthropic": "Anthropic", "gemini": "Google Gemini"}

# fault -> (what the user is told, a pattern with {provider} for the provider's name, what is
# kept, a pattern of the precise reason)
FAULTS = {
    "rate limited": (
        Fault.rate_limited(),
        r"{provider} is rate limiting us \(HTTP 429\)\. Try again in a moment\.",
        "",
        "429",
    ),
    "rate limited, retry-after too long": (
        Fault.rate_limited(retry_after=3600),
        r"{provider} is rate limiting us \(HTTP 429\)\. Try again in a moment\.",
        "",
        "429",
    ),
    "overloaded": (
        Fault.overloaded(),
        r"{provider} is overloaded \(HTTP 5\d\d\)\. Try again in a moment\.",
        "",
        "HTTP 5",
    ),
    "server error": (
        Fault.http(500),
        r"{provider} failed with a server error \(HTTP 500\)\. Try again in a moment\.",
        "",
        "500",
    ),
    "bad gateway": (
        Fault.http(502),
        r"{provider} failed with a server error \(HTTP 502\)\. Try again in a moment\.",
        "",
        "502",
    ),
    "invalid key": (
        Fault.invalid_key(),
        r"{provider} refused our key \(HTTP 40\d\)\. Tell the administrator\.",
        "",
        "key|401",
    ),
    "dropped mid-answer": (
        Fault.drop(after=2),
        r"The connection to {provider} dropped mid-answer\.",
        KEPT,
        "connection",
    ),
    "stalled mid-answer": (
        Fault.stall(after=2),
        r"{provider} stopped sending for 0\.5 s mid-answer, so the answer timed out\.",
        KEPT,
        "sent nothing",
    ),
    "malformed mid-answer": (
        Fault.malformed(after=2),
        r"{provider} sent something we could not read mid-answer\.",
        KEPT,
        "",
    ),
    "error event mid-answer": (
        Fault.error_event(after=2),
        # Each format's own error event: a server error, overloaded, or its own type.
        r"{provider} (reported (a server )?error|was overloaded|failed with a server error)"
        r" mid-answer( \(.+\))?\.",
        KEPT,
        "error",
    ),
}


def told(pattern: str, hosted) -> str:
    """The pattern of what the user is told, for this provider (capitalized first in a
    sentence)."""
    name = SHOWN_AS[hosted.name]
    if pattern.startswith("{provider}"):
        name = name[0].upper() + name[1:]
    return pattern.format(provider=re.escape(name))


async def ask(ws, model: str) -> list[dict]:
    await ws.send_json_to({"type": "send", "conversation": None, "content": "hi", "model": model})
    return await receive_until(ws, "message.end")


async def assert_still_serving(ws, hosted) -> None:
    hosted.fake.enqueue(Script(text="Back to normal."))
    frames = await ask(ws, hosted.model)
    assert frames[-1]["status"] == "complete"
    assert assemble(frames, frames[0]["message"]) == "Back to normal."


@pytest.mark.parametrize("case", FAULTS, ids=str)
async def test_it_ends_a_faulty_answer_failed_with_its_text_and_a_plain_reason(
    alice, hosted, settings, case
):
    fault, sentence, kept, reason = FAULTS[case]
    settings.IDLE_TIMEOUT = 0.5
    settings.PROVIDER_RETRIES = 2 if "retry-after" in case else 0
    hosted.fake.enqueue(Script(tokens=TOKENS, fault=fault))
    ws = await connect(alice)
    frames = await ask(ws, hosted.model)
    end = frames[-1]
    message = await Message.objects.aget(pk=frames[0]["message"])

    assert end["status"] == message.status == "failed"
    assert assemble(frames, message.pk) == message.text == kept
    assert message.status in Message.CONTINUABLE  # the page offers to continue or retry
    # Which provider failed, and how: never the old "could not be reached" for a drop.
    assert re.fullmatch(told(sentence, hosted), end["error"]), end["error"]
    assert message.error == end["error"]
    assert message.error_detail and message.error_detail != message.error
    assert re.search(reason, message.error_detail, re.IGNORECASE)
    assert "Traceback" not in end["error"]
    if "retry-after" in case:  # the server asked for an hour: not worth waiting for
        assert len(hosted.fake.requests) == 1

    await assert_still_serving(ws, hosted)
    await ws.disconnect()


async def test_it_waits_as_asked_by_retry_after_and_then_answers(alice, hosted, settings):
    settings.PROVIDER_RETRIES = 1
    hosted.fake.enqueue(
        Script(fault=Fault.rate_limited(retry_after="0.2")), Script(text="After waiting.")
    )
    ws = await connect(alice)
    frames = await ask(ws, hosted.model)
    await ws.disconnect()
    assert frames[-1]["status"] == "complete"
    assert assemble(frames, frames[0]["message"]) == "After waiting."
    first, second = hosted.fake.requests
    assert second.received_at - first.finished_at >= 0.15


async def test_it_fails_plainly_when_the_provider_refuses_connections(alice, hosted, settings):
    prefix = hosted.settings_prefix
    working = getattr(settings, f"{prefix}_BASE_URL")
    closed = f"http://127.0.0.1:{free_port()}"
    setattr(settings, f"{prefix}_BASE_URL", closed + working.removeprefix(hosted.fake.url))
    ws = await connect(alice)
    frames = await ask(ws, hosted.model)
    end = frames[-1]
    message = await Message.objects.aget(pk=frames[0]["message"])
    assert end["status"] == message.status == "failed"
    assert re.fullmatch(told(r"{provider} could not be reached\.", hosted), end["error"])
    assert "connect" in message.error_detail.lower()
    assert message.text == ""

    setattr(settings, f"{prefix}_BASE_URL", working)  # the provider is back
    await assert_still_serving(ws, hosted)
    await ws.disconnect()
