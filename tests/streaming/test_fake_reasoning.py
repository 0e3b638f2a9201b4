"""The fake upstream's reasoning: each API's events byte for byte, and its refusals."""

from __future__ import annotations

import base64
import json

import pytest

from tests.fakes.script import Script, ToolCallScript
from tests.fakes.upstream import FakeUpstream
from tests.fakes.wire import anthropic_signature, gemini_signature, responses_encrypted_content
from tests.streaming.test_fake_upstream import USER, post

OPENAI = {"Authorization": "Bearer sk"}
ANTHROPIC = {"x-api-key": "k", "anthropic-version": "2023-06-01"}


def named_events(body: bytes) -> list[tuple[str, dict]]:
    events = []
    for block in body.decode().strip().split("\n\n"):
        name, data = block.split("\n")
        events.append((name.removeprefix("event: "), json.loads(data.removeprefix("data: "))))
    return events


def responses(fake: FakeUpstream, **body) -> tuple[int, bytes]:
    request = {"model": "gpt-5", "input": USER, "stream": True, **body}
    status, _, data = post(fake.openai_base_url + "/responses", request, OPENAI)
    return status, data


def test_the_responses_api_streams_named_numbered_events(fake_upstream: FakeUpstream):
    fake_upstream.enqueue(
        Script(
            reasoning="Think first.",
            text="Hi there",
            tool_calls=[ToolCallScript("f", {"a": 1})],
            reasoning_tokens=5,
        )
    )
    status, body = responses(
        fake_upstream,
        reasoning={"effort": "low", "summary": "auto"},
        include=["reasoning.encrypted_content"],
        store=False,
    )
    assert status == 200
    events = named_events(body)
    assert all(name == data["type"] for name, data in events)
    assert [data["sequence_number"] for _, data in events] == list(range(len(events)))
    kinds = [name for name, _ in events]
    assert kinds[:3] == ["response.created", "response.in_progress", "response.output_item.added"]
    assert kinds[-1] == "response.completed"
    summary = [d["delta"] for n, d in events if n == "response.reasoning_summary_text.delta"]
    assert "".join(summary) == "Think first."
    text = [d["delta"] for n, d in events if n == "response.output_text.delta"]
    assert "".join(text) == "Hi there"
    arguments = [d["delta"] for n, d in events if n == "response.function_call_arguments.delta"]
    assert json.loads("".join(arguments)) == {"a": 1}
    added, done = (
        [d["item"] for n, d in events if n == f"response.output_item.{k}"]
        for k in ("added", "done")
    )
    assert [item["type"] for item in done] == ["reasoning", "message", "function_call"]
    reasoning = done[0]
    assert reasoning["encrypted_content"] == responses_encrypted_content(reasoning["id"])
    assert added[0]["encrypted_content"] != reasoning["encrypted_content"]  # partial on added
    usage = events[-1][1]["response"]["usage"]
    assert usage["output_tokens_details"] == {"reasoning_tokens": 5}


def test_the_responses_api_shows_no_summary_unless_asked(fake_upstream: FakeUpstream):
    fake_upstream.enqueue(Script(reasoning="Hidden.", text="ok"))
    _, body = responses(fake_upstream)
    events = named_events(body)
    assert not [n for n, _ in events if "summary" in n]
    item = next(d["item"] for n, d in events if n == "response.output_item.done")
    assert item == {"id": item["id"], "type": "reasoning", "summary": []}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"model": "gpt-4o", "reasoning": {"effort": "low"}},
            "Unsupported parameter: 'reasoning.effort' is not supported with this model.",
        ),
        (
            {"store": False, "input": [{"type": "reasoning", "id": "rs_1", "summary": []}]},
            "Item with id 'rs_1' not found. Items are not persisted when `store` is set to false.",
        ),
        (
            {"input": [{"type": "function_call_output", "call_id": "call_9", "output": "4"}]},
            "No tool call found for function call output with call_id call_9.",
        ),
    ],
)
def test_the_responses_api_refuses_as_the_real_one(body, message, fake_upstream):
    status, data = responses(fake_upstream, **body)
    assert status == 400
    assert json.loads(data)["error"]["message"].startswith(message)
    assert fake_upstream.requests[0].outcome == "http_error"


def test_anthropic_thinking_is_signed_and_redacted_blocks_come_whole(fake_upstream):
    fake_upstream.enqueue(Script(reasoning="Let me think.", text="Yes", redacted=1))
    _, _, body = post(
        fake_upstream.url + "/v1/messages",
        {"model": "m", "max_tokens": 9, "messages": USER, "stream": True},
        ANTHROPIC,
    )
    events = [data for _, data in named_events(body)]
    starts = [e["content_block"] for e in events if e["type"] == "content_block_start"]
    assert [b["type"] for b in starts] == ["thinking", "redacted_thinking", "text"]
    assert starts[1]["data"]
    deltas = [e["delta"] for e in events if e["type"] == "content_block_delta"]
    assert [d["type"] for d in deltas[:4]] == ["thinking_delta"] * 3 + ["signature_delta"]
    assert deltas[3]["signature"] == anthropic_signature("Let me think.")


def test_gemini_thoughts_and_a_signature_on_the_first_call(fake_upstream: FakeUpstream):
    calls = [ToolCallScript("f", {"x": 1}), ToolCallScript("g", {})]
    fake_upstream.enqueue(Script(reasoning="Hmm.", text="", tool_calls=calls, reasoning_tokens=3))
    _, _, body = post(
        fake_upstream.url + "/v1beta/models/gemini-3-flash:streamGenerateContent?alt=sse",
        {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]},
        {"x-goog-api-key": "k"},
    )
    chunks = [json.loads(c[6:]) for c in body.split(b"\r\n\r\n") if c]
    parts = [p for c in chunks for p in c["candidates"][0]["content"]["parts"]]
    assert parts[0] == {"text": "Hmm.", "thought": True}
    first, second = (p for p in parts if "functionCall" in p)
    assert base64.b64decode(first["thoughtSignature"]) == gemini_signature(first)
    assert "thoughtSignature" not in second
    assert chunks[-1]["usageMetadata"]["thoughtsTokenCount"] == 3


def test_gemini_3_refuses_a_function_call_without_its_signature(fake_upstream):
    contents = [
        {"role": "user", "parts": [{"text": "weather?"}]},
        {"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {}}}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "get_weather", "response": {}}}]},
    ]
    status, _, body = post(
        fake_upstream.url + "/v1beta/models/gemini-3-pro:streamGenerateContent?alt=sse",
        {"contents": contents},
        {"x-goog-api-key": "k"},
    )
    assert status == 400
    error = json.loads(body)["error"]
    assert error["status"] == "INVALID_ARGUMENT"
    assert error["message"].startswith(
        "Function call is missing a thought_signature in functionCall parts."
    )
    assert "`default_api:get_weather`" in error["message"]


@pytest.mark.parametrize(
    ("script", "content"),
    [
        (
            Script(reasoning="a b", text="c", reasoning_format="think_tags"),
            "<think>\na b\n</think>\n\nc",
        ),
        (
            Script(reasoning="a", text="c", reasoning_format="thinking_tags"),
            "<thinking>\na\n</thinking>\n\nc",
        ),
        (Script(reasoning="a", text="c", reasoning_format="lone_close"), "a\n</think>\n\nc"),
    ],
)
def test_chat_completions_can_inline_reasoning_in_the_content(script, content, fake_upstream):
    script.chunk_chars = 3
    fake_upstream.enqueue(script)
    _, _, body = post(
        fake_upstream.openai_base_url + "/chat/completions",
        {"model": "m", "messages": USER, "stream": True},
        OPENAI,
    )
    deltas = [
        json.loads(line[6:])["choices"][0]["delta"]
        for line in body.decode().split("\n\n")
        if line.startswith("data: {")
    ]
    pieces = [d["content"] for d in deltas if d.get("content")]
    assert "".join(pieces) == content
    assert all(len(p) <= 3 for p in pieces)
    assert not [d for d in deltas if "reasoning_content" in d]
