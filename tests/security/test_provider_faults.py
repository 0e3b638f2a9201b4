"""Every upstream fault, for each hosted provider, ends the answer in a clear state: `failed`
with the text written so far kept, a plain sentence for the user, the precise reason for the
admin; and the server goes on serving."""

from __future__ import annotations

import re

import pytest

from chat.answers.errors import PROVIDER_ERRORS as PLAIN_ERRORS
from chat.models import Message
from tests.conftest import assemble, connect, receive_until
from tests.fakes.script import Fault, Script
from tests.processes.servers import free_port

pytestmark = pytest.mark.django_db(transaction=True)

TOKENS = ["Part ", "one ", "two ", "three."]
KEPT = "Part one "

# fault -> (what the user is told, what is kept, a pattern of the precise reason)
FAULTS = {
    "rate limited": (Fault.rate_limited(), "rate_limited", "", "429"),
    "rate limited, retry-after too long": (
        Fault.rate_limited(retry_after=3600),
        "rate_limited",
        "",
        "429",
    ),
    "overloaded": (Fault.overloaded(), "overloaded", "", "HTTP 5"),
    "server error": (Fault.http(500), "upstream_unavailable", "", "500"),
    "bad gateway": (Fault.http(502), "upstream_unavailable", "", "502"),
    "invalid key": (Fault.invalid_key(), "authentication_failed", "", "key|401"),
    "dropped mid-answer": (Fault.drop(after=2), "upstream_unavailable", KEPT, "connection"),
    "stalled mid-answer": (Fault.stall(after=2), "idle_timeout", KEPT, "sent nothing"),
    "malformed mid-answer": (Fault.malformed(after=2), "malformed_stream", KEPT, ""),
    "error event mid-answer": (Fault.error_event(after=2), None, KEPT, "error"),
}


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
    fault, code, kept, reason = FAULTS[case]
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
    if code is None:
        assert end["error"] in PLAIN_ERRORS.values()
    else:
        assert end["error"] == PLAIN_ERRORS[code]
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
    assert end["error"] == PLAIN_ERRORS["upstream_unavailable"]
    assert "connect" in message.error_detail.lower()
    assert message.text == ""

    setattr(settings, f"{prefix}_BASE_URL", working)  # the provider is back
    await assert_still_serving(ws, hosted)
    await ws.disconnect()
