"""How an answer the model ended before it was done says so: cut off at the length limit (and
then it can be continued), stopped by a content filter, or empty; through each provider, in
the end frame, after a reload (page data, replay) and in the SSE API."""

from __future__ import annotations

import json
import re

import pytest
from asgiref.sync import sync_to_async
from django.test import AsyncClient, Client

from chat.models import Message
from chat.web import api_tokens
from tests.conftest import assemble, connect, receive_until
from tests.fakes.script import Fault, Script, ToolCallScript

pytestmark = pytest.mark.django_db(transaction=True)

SEND = {"type": "send", "conversation": None, "content": "hi", "model": "openai:gpt-test"}
LENGTH_NOTE = "Stopped at the length limit."
FILTER_NOTE = "Stopped by the provider's content filter."
EMPTY = "The model returned an empty answer."


async def ask(ws, model: str = "openai:gpt-test") -> list[dict]:
    await ws.send_json_to({**SEND, "model": model})
    return await receive_until(ws, "message.end")


def shown(user, message_id: int) -> dict:
    """The message as the page data of its conversation gives it."""
    conversation = Message.objects.get(pk=message_id).conversation_id
    client = Client()
    client.force_login(user)
    html = client.get(f"/c/{conversation}/").content.decode()
    found = re.search(r'<script id="page-data" type="application/json">(.*?)</script>', html, re.S)
    assert found, "the page has its data"
    return next(m for m in json.loads(found.group(1))["messages"] if m["id"] == message_id)


async def test_an_answer_cut_off_at_the_length_limit_says_so_through_each_provider(alice, provider):
    fake, model = provider
    fake.enqueue(Script(text="It was the best of times, it was", finish="length"))
    ws = await connect(alice)
    frames = await ask(ws, model)
    await ws.disconnect()
    end = frames[-1]
    assert (end["status"], end["finish_reason"]) == ("complete", "length")
    assert end["note"] == LENGTH_NOTE
    assert end["continuable"] is True
    assert end["error"] is None
    stored = await Message.objects.aget(pk=end["message"])
    assert (stored.status, stored.finish_reason) == ("complete", "length")
    assert stored.continuable


async def test_a_content_filter_ending_says_so_through_each_provider(alice, provider):
    fake, model = provider
    fake.enqueue(Script(text="Here is how you", finish="content_filter"))
    ws = await connect(alice)
    frames = await ask(ws, model)
    await ws.disconnect()
    end = frames[-1]
    assert (end["status"], end["finish_reason"]) == ("complete", "content_filter")
    assert end["note"] == FILTER_NOTE
    # The filtered text sent back would meet the same filter: regenerate instead.
    assert end["continuable"] is False
    assert assemble(frames, end["message"]) == "Here is how you"


async def test_an_empty_answer_fails_saying_so_through_each_provider(alice, provider):
    fake, model = provider
    fake.enqueue(Script(text=""))
    ws = await connect(alice)
    frames = await ask(ws, model)
    await ws.disconnect()
    end = frames[-1]
    assert (end["status"], end["finish_reason"], end["error"]) == ("failed", "empty", EMPTY)
    assert end["note"] is None
    stored = await Message.objects.aget(pk=end["message"])
    assert (stored.status, stored.error, stored.text) == ("failed", EMPTY, "")
    assert stored.error_detail


async def test_continuing_an_answer_cut_off_at_the_length_limit_appends_to_it(alice, upstream):
    upstream.enqueue(
        Script(tokens=["It was ", "the best ", "of times, "], finish="length"),
        Script(tokens=["it was ", "the worst."]),
    )
    ws = await connect(alice)
    frames = await ask(ws)
    message = frames[0]["message"]
    await ws.send_json_to({"type": "continue", "message": message})
    more = await receive_until(ws, "message.end")
    await ws.disconnect()
    assert more[0]["offset"] == len("It was the best of times, ")
    end = more[-1]
    assert (end["status"], end["finish_reason"], end["note"]) == ("complete", "end", None)
    assert end["continuable"] is False
    # The model was sent its own words to go on from.
    sent = upstream.requests[-1].body["messages"]
    assert sent[-1] == {"role": "assistant", "content": "It was the best of times, "}
    stored = await Message.objects.aget(pk=message)
    assert stored.text == "It was the best of times, it was the worst."
    assert assemble(frames + more, message) == stored.text
    assert (stored.status, stored.finish_reason, stored.error) == ("complete", "end", "")


async def test_an_answer_that_completed_or_was_filtered_cannot_be_continued(alice, upstream):
    upstream.enqueue(Script(text="Done."), Script(text="Filtered", finish="content_filter"))
    ws = await connect(alice)
    for _ in range(2):
        message = (await ask(ws))[0]["message"]
        await ws.send_json_to({"type": "continue", "message": message})
        refused = await receive_until(ws, "error")
        assert refused[-1]["code"] == "not_resumable"
    await ws.disconnect()
    assert len(upstream.requests) == 2


async def test_a_length_limited_answer_with_no_text_is_not_called_empty(alice, upstream):
    # A reasoning model can spend the whole allowance thinking: that is the length limit.
    upstream.enqueue(Script(text="", reasoning="Let me think this through.", finish="length"))
    ws = await connect(alice)
    end = (await ask(ws))[-1]
    await ws.disconnect()
    assert (end["status"], end["finish_reason"], end["note"]) == ("complete", "length", LENGTH_NOTE)
    assert end["error"] is None and end["continuable"] is True


async def test_an_answer_of_tool_calls_alone_is_not_empty(alice, upstream):
    upstream.enqueue(
        Script(text="", tool_calls=[ToolCallScript("calculator", {"expression": "6*7"}, id="c")]),
        Script(text="It is late."),
    )
    ws = await connect(alice)
    await ws.send_json_to({**SEND, "tools": ["calculator"]})
    first = await receive_until(ws, "message.end")
    assert first[-1]["status"] == "complete" and first[-1]["error"] is None
    second = await receive_until(ws, "message.end")
    await ws.disconnect()
    assert assemble(second, second[-1]["message"]) == "It is late."


async def test_the_endings_are_told_again_after_a_reload_and_a_replay(alice, upstream):
    upstream.enqueue(
        Script(text="Cut off", finish="length"),
        Script(text="Filtered", finish="content_filter"),
        Script(text=""),
    )
    ws = await connect(alice)
    ends = [(await ask(ws))[-1] for _ in range(3)]
    for end in ends:  # read back from the database, as a reload or a second tab does
        await ws.send_json_to({"type": "resume", "message": end["message"], "offset": 0})
        replayed = (await receive_until(ws, "message.end"))[-1]
        for name in ("status", "finish_reason", "note", "continuable", "error"):
            assert replayed[name] == end[name], name
    await ws.disconnect()

    length, filtered, empty = [await sync_to_async(shown)(alice, e["message"]) for e in ends]
    assert (length["note"], length["continuable"], length["finish_reason"]) == (
        LENGTH_NOTE,
        True,
        "length",
    )
    assert (filtered["note"], filtered["continuable"]) == (FILTER_NOTE, False)
    assert (empty["status"], empty["error"], empty["note"], empty["continuable"]) == (
        "failed",
        EMPTY,
        None,
        True,
    )


async def test_the_sse_api_tells_the_ending(alice, upstream):
    token = (await sync_to_async(api_tokens.create)(alice, "tests"))[1]
    upstream.enqueue(Script(text="Cut off", finish="length"))
    response = await AsyncClient().post(
        "/api/chat",
        {"conversation": None, "content": "hi", "model": "openai:gpt-test"},
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    raw = b"".join([chunk async for chunk in response.streaming_content]).decode()
    end = json.loads(raw.strip().split("\n\n")[-1].split("data: ", 1)[1])
    assert (end["type"], end["finish_reason"], end["note"], end["continuable"]) == (
        "message.end",
        "length",
        LENGTH_NOTE,
        True,
    )


# Errors that say what happened ---------------------------------------------------------------


async def test_a_drop_mid_answer_names_the_provider_and_says_it_dropped(alice, provider):
    fake, model = provider
    fake.enqueue(Script(tokens=["One ", "two ", "three "], fault=Fault.drop(after=2)))
    ws = await connect(alice)
    end = (await ask(ws, model))[-1]
    await ws.disconnect()
    name = {"openai": "the local server", "anthropic": "Anthropic", "gemini": "Google Gemini"}
    assert end["error"] == f"The connection to {name[model.split(':')[0]]} dropped mid-answer."
    assert "could not be reached" not in end["error"]


async def test_a_refused_request_gives_the_status_and_the_providers_reason(alice, provider):
    fake, model = provider
    fake.enqueue(Script(fault=Fault.http(400, message="max_tokens is too large for this model")))
    ws = await connect(alice)
    end = (await ask(ws, model))[-1]
    await ws.disconnect()
    name = {"openai": "The local server", "anthropic": "Anthropic", "gemini": "Google Gemini"}
    assert end["error"] == (
        f"{name[model.split(':')[0]]} refused the request "
        "(HTTP 400; max_tokens is too large for this model)."
    )


async def test_a_compatible_server_is_called_by_its_configured_name(alice, upstream, settings):
    settings.OPENAI_SERVER_NAME = "Ollama"
    settings.IDLE_TIMEOUT = 0.5
    settings.PROVIDER_RETRIES = 0
    upstream.enqueue(Script(fault=Fault.stall(after=0)))
    ws = await connect(alice)
    end = (await ask(ws))[-1]
    await ws.disconnect()
    assert end["error"] == "Ollama sent nothing for 0.5 s, so the request timed out."


async def test_a_reason_quoting_our_key_is_redacted(alice, upstream, settings):
    settings.OPENAI_API_KEY = "sk-test-secret-key-1234567890"
    upstream.enqueue(Script(fault=Fault.http(400, message=f"bad key {settings.OPENAI_API_KEY}")))
    ws = await connect(alice)
    end = (await ask(ws))[-1]
    await ws.disconnect()
    assert end["error"].startswith("The local server refused the request (HTTP 400; bad key")
    assert settings.OPENAI_API_KEY not in end["error"]
